"""Word lists that decide when a partial transcript has nothing to route on.

``FILLER_WORDS`` carry no meaning at all ("uh", "hello", "yes hi").
``GENERIC_WORDS`` add function words, people and call openers ("my husband",
"I'm calling about"): they say who is calling, not why. Training labels a
prefix made only of generic words as ``undecided``, and the classifier
abstains on a partial without at least one non-generic word that the model
has seen in training.
"""

from __future__ import annotations

FILLER_WORDS = frozenset(
    "uh um uhm umm er erm ah oh hm hmm mm mhm huh hello hi hey hiya yes yeah yep yup ok okay "
    "alright right well so like sorry please thanks thank you good morning afternoon evening "
    "there anyone anybody can hear me just a second moment hold on wait".split()
)

GENERIC_WORDS = FILLER_WORDS | frozenset(
    # Function words. Negations are generic too: alone they say nothing about the queue.
    "i me my mine myself you your we our us he him his she her it its they them their this that "
    "these those a an the and or but if then of to in on at for with from by about as into "
    "is am are was were be been being do does did have has had having will would can could "
    "should shall may might must not no never what when where who why how which some any all "
    "also too very really still again now here name is calling call called phone number "
    "need needs want wants wanted wanting wondering wonder ask asking question questions help "
    "talk speak someone somebody something thing things know think get got go going "
    "want see regarding because im its thats theres date birth"
    # People: who the call is about, not what it is about.
    " husband wife mom mother dad father son daughter child kid kids baby grandmother "
    "grandfather grandma grandpa mum sister brother friend patient partner family"
    # Dates and numbers, as in a date of birth.
    " zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand first second third fourth fifth sixth seventh eighth ninth tenth "
    "twelfth twentieth thirtieth january february march april june july august september "
    "october november december".split()
)
