"""The curated red-flag phrase list, by category.

Patterns are regular expressions over *normalised* text (see ``normalize``):
lowercase words, contractions expanded ("can't" → "can not"), digits spelled
out. Each pattern is matched on word boundaries. A pattern may contain a
negation word itself ("not breathing", "can not breathe"); a negation inside
the match never cancels it. Variants cover what the Vosk small English model
writes for the same words ("chest pains", "can not breathe", "short of
breath", "shortness of breath"). They also cover near-misses that recurred
when the team's own red-flag sentences (``models/training/patterns_redflag.py``)
were spoken by Piper and espeak-ng voices over 8 kHz telephone audio and
decoded by the small English model: "is" heard as "as" ("smile as lopsided"), "face is"
merged into "faces" (and "wife's face is" into "wife spaces"), "in" heard as
"and" ("pressure and my chest"),
"slurring" heard as "wearing" or "flooring", "myself" split into "my else",
"swallowed" heard as "followed", "unconscious" split into "a conscious",
"wake" heard as "wait", "epipen" heard as "epa been". A variant is added only
when no benign sentence in the training data or the look-alike list contains
it.

Deliberately *not* red flags, so the model decides them: figurative use ("this
bill gave me a heart attack" does not match "having a heart attack"), events
in the past ("he had a stroke last year": only "having a stroke" matches, and
``HISTORY_MARKERS`` cancels a hit in the same clause) and names such as
"urgent care".

Categories follow the emergency list that clinic triage protocols use for
phone calls: chest pain or pressure, breathing, stroke signs, severe
bleeding, suicidal thoughts or self-harm, overdose or poisoning,
anaphylaxis, an unresponsive person, a seizure in progress; and fever in an
infant, which needs a nurse the same day (``urgent``).
"""

from __future__ import annotations

from dataclasses import dataclass

_POSS = r"(?:my|his|her|their|your|the)"
_PERSON = r"(?:him|her|them|me|my \w+|his \w+|her \w+)"


@dataclass(frozen=True, slots=True)
class RedFlagRule:
    """One category of red-flag phrases."""

    category: str
    urgency: str
    reason: str
    patterns: tuple[str, ...]
    negation_inside: bool = False
    """Also cancel the hit when a negation cue sits inside the match ("baby has no fever")."""


RULES: tuple[RedFlagRule, ...] = (
    RedFlagRule("chest_pain", "emergency", "chest pain", (
        r"chest pains?",
        r"(?:holding|clutching|grabbing|gripping) (?:his|her|my|their) chest",
        # The recognizer often writes "in my chest" as "and my chest".
        rf"(?:pressure|tightness|heaviness|squeezing|crushing|swimming) (?:in|on|and) {_POSS} chest",
        r"chest (?:is |feels |has been )?(?:hurting|hurts|aching|aches|burning|squeezing)",
        rf"(?:pain|pains|pressure|tightness|heaviness|squeezing|crushing|ache|aching) (?:in|on) {_POSS} chest",
        r"chest (?:pressure|tightness|heaviness)",
        r"chest (?:is |feels |felt |feeling |has been |gets )?(?:still |so |really |very |all )?(?:tight|heavy|crushed)",
        r"(?:having|had) (?:a |an )?heart attack (?:right )?now",
        r"(?:is|am|are|be|maybe|might be|could be|think (?:i am|he is|she is)) having (?:a |an )?heart attack",
        r"crushing (?:pain|pressure)",
        r"chest(?: \w+){0,4} (?:heavy|crushing|squeezing) pressure",
    )),
    RedFlagRule("breathing", "emergency", "trouble breathing", (
        r"can not (?:breathe|breath|breed|catch (?:my|his|her|their) breath|get (?:any )?air)",
        r"can (?:barely|hardly) (?:breathe|breath)(?! (?:thinking|when i think|just thinking|looking at))",
        r"(?:trouble|difficulty|struggling|hard|problems?|hard time) (?:breathing|breeding|to breathe|to breed|breathe)",
        # "breathing" heard as "reading"; only with "right now", so that trouble
        # reading small print stays routine.
        r"(?:trouble|difficulty|hard time) reading right now",
        r"(?:barely|hardly) (?:breathing|breeding)",
        r"(?:he|she|they|i) (?:not|no|can not|could not) (?:breathe|breath|breathing) (?:good|well|right|properly)",
        r"(?:sucking|pulling) (?:in |and )?(?:under|between) (?:the|his|her|their) (?:ribs|rib|rips)",
        # Breathlessness only on exertion is not an emergency on its own.
        r"short(?:ness)? of breath(?! (?:when|why|while|climbing|climb|walking|going up|on exertion|with exercise|after exercise|on the stairs|if i))",
        r"(?:not|stopped|stop) breathing",
        r"gasping(?: for (?:air|breath))?",
        r"(?:lips|face|skin) (?:is |are |look |looks |turning |went |gone )?(?:turning )?blue",
        r"turning blue",
        # "checking on the status" is often heard as "choking on the status".
        r"choking(?! on the (?:status|state|fate))",
    )),
    RedFlagRule("stroke", "emergency", "stroke signs", (
        r"(?:faces?|spaces|mouth|smile) (?:is |as |looks |seems |went |started )?(?:all )?(?:drooping|droopy|droops|drooped|crooked|cricket|lopsided)",
        r"(?:drooping|droopy|crooked) (?:face|mouth|smile|on one side)",
        r"one side of (?:my|his|her|their|the) face",
        r"slurr(?:ed|ing)",
        r"(?:wearing|flooring|flirting|blurring) (?:her|his|my|their) words",
        r"(?:having|had|have|is) (?:a )?stroke (?:right )?now",
        r"(?:is|am|are|think (?:i am|he is|she is)|might be|may be|could be) having (?:a )?stroke",
        r"(?:signs|symptoms) of (?:a )?stroke",
        r"(?:weak|weakness|numb|numbness|paralyzed|can not move|can not feel)(?: \w+){0,3} (?:on )?one side",
        r"one sided (?:weakness|numbness)",
        r"(?:sudden(?:ly)?|all of a sudden)(?: \w+){0,3} can not (?:move|lift|feel|talk|speak|see)",
        r"can not (?:lift|raise) (?:his|her|my|their) (?:arm|arms|leg)",
        r"words (?:are |or |come out )?(?:all )?(?:jumbled|jumble|garbled|wrong)",
        r"can not (?:feel|move) (?:my|his|her|their) (?:right|left) (?:arm|leg|hand)(?: or| and) (?:leg|arm|face)",
    )),
    RedFlagRule("bleeding", "emergency", "severe bleeding", (
        r"bleeding (?:a lot|so much|heavily|badly|profusely|everywhere|nonstop|like crazy|really bad|very bad|will not stop|does not stop|has not stopped|is not stopping|through)",
        r"(?:will not|would not|does not|can not) stop (?:the )?bleeding",
        r"bleeding(?: \w+){1,6} (?:does not|will not|would not|is not|not|can not) (?:not )?stop",
        r"(?:can not|could not) (?:get|make) (?:the |it |the blood )?(?:bleeding )?(?:to )?stop",
        r"(?:heavy|severe|uncontrolled|massive) bleeding",
        r"blood (?:is )?(?:everywhere|gushing|spurting|squirting|pouring)",
        r"(?:gushing|spurting|squirting)",
        r"pouring (?:out )?blood",
        r"soak(?:ing|ed)? (?:right )?through",
        r"(?:lost|losing) a lot of blood",
        r"(?:pool|puddle) of blood",
        r"(?:throwing up|vomiting|coughing up|puking) (?:a lot of |lots of |bright red )?blood",
        r"hemorrhag\w*",
    )),
    RedFlagRule("suicide", "emergency", "suicide risk", (
        r"suicid\w*",
        r"(?:kill|killing) (?:my ?self|him ?self|her ?self|them ?selves|my else|my shelf|her shelf|him shelf)",
        r"(?:harm|harming|cutting) (?:my ?self|him ?self|her ?self|them ?selves)",
        r"(?:want|wants|wanted|going|thinking about|thought about|thoughts of|urge to|tried to|trying to|threatening to|threatened to|might|will)(?: \w+)? (?:hurt|hurting) (?:my ?self|him ?self|her ?self|them ?selves)",
        r"self harm\w*",
        r"end(?:ing)? (?:my|his|her) (?:own )?life",
        r"take (?:my|his|her) (?:own )?life",
        r"(?:want|wants|wanted|going) to die",
        r"(?:do not|does not) want to (?:live|be alive|be here)",
        r"better off (?:if (?:i|he|she|they) (?:was|were) )?dead",
        r"better off without (?:me|him|her|them)",
        r"no reason to live",
        r"end it all",
        # Warning signs of suicide without the word: farewell letters, giving things away.
        r"(?:wrote|written|writing|left) (?:goodbye )?(?:letters|a letter|notes|a note) (?:to|for) (?:my|his|her) (?:kids|children|family|wife|husband|son|daughter|parents)",
        r"(?:giving|gave|given) away (?:all )?(?:my|his|her) (?:things|stuff|belongings|possessions)",
        r"(?:said|saying) (?:my|his|her) goodbyes",
    )),
    RedFlagRule("overdose", "emergency", "overdose or poisoning", (
        r"overdos\w*",
        r"(?:took|taken|swallowed|ate) (?:way )?too many",
        r"(?:swallowed|followed|ate|took|drank|taken) (?:a |the )?(?:whole|entire|full) (?:bottle|pack|box)",
        r"swallowed a lot of (?:\w+ )?(?:pills?|tablets?|medicine|medication)",
        r"(?:ate|a|the|swallowed|bit|chewed) (?:a |the |into a )?(?:laundry|detergent|dishwasher) pods?",
        r"(?:swallowed|ate|drank|got into) (?:some |a bunch of |all )?(?:of )?(?:my |his |her |the |our )?(?:pills|tablets|bleach|antifreeze|cleaner|detergent|pods|rat poison|medicine|medication)",
        r"(?<!food )poison(?:ed|ing)?(?! ivy| oak| sumac)",
        r"(?:drank|drink|drinks|drunk|swallowed|swallow) (?:some |the |a )?(?:of )?(?:the )?(?:\w+ ){0,2}(?:bleach|antifreeze|cleaner|cleaning \w+|chemical|chemicals|detergent|lighter fluid|lamp oil|pesticide)",
        r"(?:took|swallowed|taken|ate) (?:like |about |around |maybe )?(?:\w+ ){1,10}on purpose",
        r"got into (?:my |his |her |the |our )?(?:\w+ ){0,3}(?:pills|tablets|medicine|medication|meds|gummies)",
        r"how many (?:pills |tablets )?(?:he|she|they) (?:swallowed|took|ate|had)",
    )),
    RedFlagRule("anaphylaxis", "emergency", "severe allergic reaction", (
        r"anaphyla\w*",
        r"throat (?:is |feels |was )?(?:closing|swelling|swollen shut|tight)",
        r"(?:tongue|lips|lip|throat) (?:is |are |has |have |started )?(?:all )?(?:swelling|swollen|puffing|blowing)",
        r"(?:tongue|lips|lip|throat|face) (?:is |are |has |have |started )?(?:still )?(?:popping|welling) up",
        r"face (?:is |has |started )?(?:still )?(?:swelling|swollen|puffing|blowing) up",
        r"(?:used|gave|give|giving) (?:him |her |me )?(?:my|his|her|the|an) (?:epi ?pen|epa been|epi been|epi pin)",
        r"(?:severe|bad|serious|major) allergic reaction",
        r"(?:is|am|are|in|now) having (?:an|a) (?:an )?allergic reaction",
    )),
    RedFlagRule("unresponsive", "emergency", "unresponsive person", (
        r"unresponsive",
        r"unconscious",
        r"(?:is|was|now) (?:a|on) conscious",
        r"(?:not|stopped) respond(?:ing|ed)?(?! to)",
        r"(?:not|stopped) respond(?:ing|ed)? to (?:me|us|anything|anyone|voices|touch|(?:his|her|their) name)",
        rf"(?:can not|could not) (?:wake|wait) {_PERSON} up",
        r"(?:will not|is not|not) wak(?:e|ing) up",
        r"collapsed",
        r"no pulse",
        r"(?:passed|blacked) out and (?:is not|will not|can not|not|(?:as|is) it wak(?:e|ing))",
    )),
    RedFlagRule("seizure", "emergency", "seizure now", (
        r"(?:is|am|are|keeps|keep) having seizures",
        r"having (?:a |another )?seizure",
        r"seizing",
        r"convuls\w*",
        r"seizure (?:right now|now|that will not stop|will not stop|is not stopping)",
        r"shaking (?:all|oil) over",
        r"having (?:a |another )fit(?! about| over)",
        r"(?:will not|can not) stop (?:shaking|jerking)",
    )),
    RedFlagRule("infant_fever", "urgent", "fever in an infant", negation_inside=True, patterns=(
        r"(?:baby|babies|newborn|infant|(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) (?:day|days|week|weeks|month|months) old)(?: \w+){0,8} (?:fever|temperature|burning up|feels hot|hot to the touch|febrile)",
        r"(?:fever|temperature)(?: \w+){0,6} (?:in )?(?:my |our |the )?(?:baby|newborn|infant)",
    )),
)

#: Words that negate what follows: "no chest pain", "not suicidal", "denies".
NEGATION_CUES = frozenset({"no", "not", "never", "without", "denies", "denied", "deny", "nor", "neither", "none"})
#: Cue words that do not negate when followed by one of these ("not sure", "no idea").
PSEUDO_NEGATION_NEXT = frozenset({"sure", "idea", "only", "know", "clue", "matter", "doubt", "longer", "joke", "kidding", "wait"})
#: Words that end a negation scope: contrast, a sentence break, or a new clause subject.
SCOPE_TERMINATORS = frozenset({
    ".", "but", "however", "although", "though", "except", "yet", "now", "just", "only", "so",
    "because", "since", "then",
    "my", "his", "her", "their", "he", "she", "i", "it", "its", "they", "we", "there", "this",
})
#: A negation covers at most this many words after the cue (NegEx uses five).
NEGATION_WINDOW = 6

#: Words that put a matched phrase in the past ("had a stroke last year").
#: A hit is cancelled when one of these sits in the same clause within
#: ``HISTORY_WINDOW`` words of it.
HISTORY_MARKERS: tuple[str, ...] = (
    r"last (?:year|month|spring|summer|fall|winter|christmas)",
    r"(?:years|months|a year|a month|decades) ago",
    r"history of",
    r"used to",
    r"back in (?:\w+)",
    r"as a (?:kid|child|teenager)",
    r"in the past",
    r"years back",
    r"(?:fine|okay|ok|better|all right|alright) now",
    # "went away" is often heard as "one away".
    r"(?:went|gone|one) away",
)
HISTORY_WINDOW = 10
