"""Hand-written caller phrases for the CareRoute classifier, with slot values.

Every sentence pattern here was written by the CareRoute team for training.
``build_utterances.py`` expands the patterns into ``utterances.jsonl``.

A pattern is ``(text, queue, urgency, tag)``. ``tag`` marks hard cases
(``negation``, ``figurative``, ``history``, ``mixed``, ``minimised``,
``name``) or a speaking style (``curt``, ``rambling``, ``elderly``,
``nonnative``); ``""`` means a plain case.

Slots in braces are filled from the lists below. The person slots come from
``SUBJECTS``: ``{S_is}`` is "I'm" for a patient and "my dad is" for a
caregiver, ``{P}`` the possessive, ``{X_is}`` a pronoun form for a second
mention, and so on.
"""

from __future__ import annotations

# Subject forms: patient first, then caregivers. Keys are used as {slots}.
SUBJECTS: list[dict[str, str]] = [
    {"persona": "patient", "S": "I", "S_is": "I'm", "S_has": "I have", "S_hasdone": "I've",
     "S_was": "I was", "S_cant": "I can't", "S_keeps": "I keep", "S_feels": "I feel",
     "S_needs": "I need", "S_doesnt": "I don't", "X": "I", "X_is": "I'm", "X_has": "I have",
     "X_cant": "I can't", "P": "my", "O": "me"},
    {"persona": "patient", "S": "I", "S_is": "I am", "S_has": "I've got", "S_hasdone": "I have",
     "S_was": "I was", "S_cant": "I cannot", "S_keeps": "I keep", "S_feels": "I feel",
     "S_needs": "I need", "S_doesnt": "I do not", "X": "I", "X_is": "I am", "X_has": "I have",
     "X_cant": "I can not", "P": "my", "O": "me"},
    {"persona": "caregiver", "S": "my husband", "S_is": "my husband is", "S_has": "my husband has",
     "S_hasdone": "my husband has", "S_was": "my husband was", "S_cant": "my husband can't",
     "S_keeps": "my husband keeps", "S_feels": "my husband feels", "S_needs": "my husband needs",
     "S_doesnt": "my husband doesn't", "X": "he", "X_is": "he's", "X_has": "he has",
     "X_cant": "he can't", "P": "his", "O": "him"},
    {"persona": "caregiver", "S": "my mom", "S_is": "my mom is", "S_has": "my mom has",
     "S_hasdone": "my mom has", "S_was": "my mom was", "S_cant": "my mom can't",
     "S_keeps": "my mom keeps", "S_feels": "my mom feels", "S_needs": "my mom needs",
     "S_doesnt": "my mom doesn't", "X": "she", "X_is": "she's", "X_has": "she has",
     "X_cant": "she can't", "P": "her", "O": "her"},
    {"persona": "caregiver", "S": "my father", "S_is": "my father is", "S_has": "my father has",
     "S_hasdone": "my father has", "S_was": "my father was", "S_cant": "my father cannot",
     "S_keeps": "my father keeps", "S_feels": "my father feels", "S_needs": "my father needs",
     "S_doesnt": "my father doesn't", "X": "he", "X_is": "he is", "X_has": "he has",
     "X_cant": "he can not", "P": "his", "O": "him"},
    {"persona": "caregiver", "S": "my wife", "S_is": "my wife is", "S_has": "my wife has",
     "S_hasdone": "my wife has", "S_was": "my wife was", "S_cant": "my wife can't",
     "S_keeps": "my wife keeps", "S_feels": "my wife feels", "S_needs": "my wife needs",
     "S_doesnt": "my wife doesn't", "X": "she", "X_is": "she's", "X_has": "she's got",
     "X_cant": "she can't", "P": "her", "O": "her"},
    {"persona": "caregiver", "S": "my grandmother", "S_is": "my grandmother is",
     "S_has": "my grandmother has", "S_hasdone": "my grandmother has",
     "S_was": "my grandmother was", "S_cant": "my grandmother can't",
     "S_keeps": "my grandmother keeps", "S_feels": "my grandmother feels",
     "S_needs": "my grandmother needs", "S_doesnt": "my grandmother doesn't", "X": "she",
     "X_is": "she's", "X_has": "she has", "X_cant": "she can't", "P": "her", "O": "her"},
    {"persona": "caregiver", "S": "my son", "S_is": "my son is", "S_has": "my son has",
     "S_hasdone": "my son has", "S_was": "my son was", "S_cant": "my son can't",
     "S_keeps": "my son keeps", "S_feels": "my son feels", "S_needs": "my son needs",
     "S_doesnt": "my son doesn't", "X": "he", "X_is": "he's", "X_has": "he has",
     "X_cant": "he can't", "P": "his", "O": "him"},
    {"persona": "caregiver", "S": "the resident I look after", "S_is": "the resident I care for is",
     "S_has": "one of our residents has", "S_hasdone": "our resident has",
     "S_was": "our resident was", "S_cant": "our resident can't",
     "S_keeps": "our resident keeps", "S_feels": "our resident feels",
     "S_needs": "our resident needs", "S_doesnt": "our resident doesn't", "X": "she",
     "X_is": "she's", "X_has": "she has", "X_cant": "she can't", "P": "her", "O": "her"},
]

OPENERS = [
    "", "", "", "", "hi", "hello", "hi there", "good morning", "good afternoon", "yes hello",
    "um hi", "uh hello", "hey", "hi sorry", "hello is this the clinic", "hi good morning",
    "yeah hi", "hello I'm calling because", "hi I was told to call this number",
    "hi my name is {name}", "hello this is {name}", "hi it's {name}",
    "hi this is {name} date of birth {dob}",
]

CLOSERS = [
    "", "", "", "", "", "thank you", "thanks", "thanks so much", "can someone call me back",
    "please call me back", "what should I do", "thank you very much", "I appreciate it",
    "my number is on file", "okay thanks",
]

NAMES = ["Maria Delgado", "Tom Becker", "Priya Raman", "Janet Okafor", "Luis Moreno",
         "Grace Whitfield", "Daniel Kowalczyk", "Amina Yusuf", "Robert Lindqvist", "Kim Tran",
         "Ellen Fairbanks", "Samuel Osei", "Hannah Brightwell", "Omar Haddad", "Beth Calloway"]
DOBS = ["march third nineteen fifty", "june twelfth nineteen eighty two",
        "the ninth of october nineteen seventy", "january twenty first two thousand one",
        "april fourth nineteen sixty five", "december second nineteen ninety"]
DOCTORS = ["Doctor Patel", "Doctor Nguyen", "Doctor Alvarez", "Doctor Brooks", "Doctor Kim",
           "Doctor Harrington", "Doctor Osei", "Doctor Feldman", "Doctor Ruiz",
           "the nurse practitioner", "Doctor Lindgren", "Doctor Abara"]
STAFF = ["Linda in billing", "Carol", "the office manager", "Marcus", "the practice manager",
         "Jessica at the front desk", "the referral coordinator", "Doctor Patel's assistant",
         "Sandra", "the care coordinator"]
PHARMACIES = ["Walgreens", "CVS", "the Rite Aid on Main Street", "Costco pharmacy",
              "Kroger pharmacy", "the Walmart pharmacy", "Elm Street Pharmacy",
              "Hillside Drug", "Safeway pharmacy", "the mail order pharmacy", "Express Scripts",
              "Lakeview Apothecary"]
CLINICS = ["Riverside Cardiology", "Northgate Orthopedics", "the sleep center",
           "Bayview Dermatology", "Summit Physical Therapy", "the county health department",
           "Maple Grove Endocrinology", "the imaging center", "Clearwater Gastroenterology",
           "the hospital discharge team", "Pinecrest Urgent Care", "Valley Oncology"]
MEDS = ["metformin", "lisinopril", "atorvastatin", "amlodipine", "levothyroxine",
        "omeprazole", "sertraline", "losartan", "gabapentin", "hydrochlorothiazide",
        "simvastatin", "escitalopram", "montelukast", "pantoprazole", "rosuvastatin",
        "bupropion", "fluoxetine", "tamsulosin", "meloxicam", "prednisone", "allopurinol",
        "furosemide", "trazodone", "carvedilol", "spironolactone", "my blood pressure pills",
        "my cholesterol medicine", "my thyroid pill", "my water pill", "my inhaler",
        "my birth control", "my allergy medicine", "my eye drops", "my antidepressant",
        "my sleeping pills", "the cream for my eczema", "my acid reflux medicine"]
CRITICAL_MEDS = ["insulin", "my insulin", "my Lantus", "my Humalog", "my seizure medicine",
                 "my Keppra", "my levetiracetam", "my Lamictal", "my transplant medicine",
                 "my tacrolimus", "my prograf", "my anti rejection pills", "my Eliquis",
                 "my blood thinner", "my warfarin", "his insulin", "her seizure pills",
                 "my heart rhythm medicine", "my Dilantin", "my rescue inhaler"]
PA_MEDS = ["Ozempic", "Humira", "Mounjaro", "Dupixent", "Eliquis", "Trulicity", "Jardiance",
           "Wegovy", "Enbrel", "Xarelto", "the brand name inhaler", "the migraine injection",
           "Stelara", "Otezla", "the new cholesterol shot"]
SIDE_EFFECT_MEDS = ["the new blood pressure pill", "the antibiotic", "metformin",
                    "the statin", "sertraline", "the prednisone", "the new inhaler",
                    "lisinopril", "the iron pills", "the allergy pills", "the patch",
                    "the new antidepressant", "the water pill", "amoxicillin"]
MILD_SYMPTOMS = ["a sore throat", "a runny nose", "a cough", "a rash on {P} arm",
                 "some heartburn", "a mild headache", "a stuffy nose", "an earache",
                 "itchy eyes", "a sprained ankle", "back pain", "some diarrhea",
                 "a low grade fever", "a bladder infection I think", "pink eye",
                 "a stomach bug", "a cold sore", "a sinus infection", "dizziness when standing up",
                 "trouble sleeping", "a wart on {P} foot", "knee pain", "a swollen gland",
                 "constipation", "an ingrown toenail", "hives", "a lump on {P} neck",
                 "blood in {P} stool", "ringing in {P} ears", "a cough that won't go away"]
BODY_PARTS = ["knee", "hip", "shoulder", "gallbladder", "hernia", "back", "appendix",
              "wrist", "foot", "cataract", "c section", "hysterectomy"]
TESTS = ["blood work", "lab results", "MRI", "CT scan", "x ray", "mammogram", "biopsy",
         "colonoscopy", "ultrasound", "cholesterol test", "A1C", "pap smear", "urine test",
         "stress test", "thyroid test", "echo"]
APPOINTMENT_KINDS = ["a physical", "an annual checkup", "a follow up", "a well child visit",
                     "a flu shot", "a new patient visit", "a telehealth visit",
                     "a blood pressure check", "my six month visit", "a Medicare wellness visit",
                     "a sports physical", "a pap smear", "a skin check", "a diabetes check",
                     "a video visit", "a follow up with {doctor}", "a covid booster",
                     "my yearly exam", "a consult", "a pre op visit"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow", "next week",
        "this afternoon", "the fourteenth", "the twenty second", "Saturday", "next Tuesday",
        "the first of the month", "Thursday morning"]
AMOUNTS = ["two hundred dollars", "forty five dollars", "three hundred and twenty dollars",
           "a thousand dollars", "eighty dollars", "sixty two fifty", "fifteen hundred dollars",
           "twelve dollars", "ninety nine dollars", "five hundred and forty dollars"]
INSURERS = ["Blue Cross", "Aetna", "Cigna", "United Healthcare", "Medicare", "Medicaid",
            "Humana", "Kaiser", "Tricare", "my new employer plan", "Anthem", "Molina"]
