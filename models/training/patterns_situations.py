"""Callers who describe a situation instead of naming a request, for every label.

Written by the CareRoute team for training, as a third pass after
``patterns_clinical.py``, ``patterns_admin.py`` and ``patterns_callers.py``.
Real callers often tell what happened ("the pharmacy sent me away", "I got a
letter") and leave the request implied, or bury it after a long lead-in.
Slots are explained in ``phrasebook.py``; tags are the same as there.
"""

from __future__ import annotations

N, RF, BI, SC, FD = "nurse", "refill", "billing", "scheduling", "front_desk"
R, U = "routine", "urgent"

Pattern = tuple[str, str, str, str]

NURSE_SITUATIONS: list[Pattern] = [
    ("I just got home from the hospital and the discharge papers say to call with questions", N, R, ""),
    ("I've been reading about {sidemed} online and now I'm worried about taking it", N, R, ""),
    ("{S_has} been coughing at night for a week and nothing from the store is working", N, R, ""),
    ("the urgent care gave me antibiotics but I'm not feeling any better after three days", N, R, "name"),
    ("{S_keeps} waking up with a stiff back and it's getting harder to bend", N, R, ""),
    ("after the flu shot my arm has been sore for two days", N, R, ""),
    ("I checked my blood pressure at the pharmacy machine and it was high", N, R, ""),
    ("my glucose meter has been reading in the two hundreds after dinner", N, R, ""),
    ("the new pills make my mouth dry and I'm thirsty all the time", N, R, ""),
    ("{S_has} a red itchy patch that showed up after gardening", N, R, ""),
    ("my kid came home from daycare with a rash on her cheeks", N, R, ""),
    ("I woke up with one eye crusted shut", N, R, ""),
    ("I keep getting nosebleeds in the dry weather, they stop quickly", N, R, ""),
    ("I'm feeling a bit off since the dose went up, kind of shaky", N, R, ""),
    ("{S_has} diarrhea since the trip, no blood, drinking fine", N, R, ""),
    ("I've had a low mood for a couple of weeks and I think the doctor should know", N, R, ""),
    ("{S_was} bitten by the neighbor's cat, it's a small scratch", N, R, ""),
    ("{S_has} had a fever since last night and now {X_is} throwing up and really weak", N, U, ""),
    ("the surgery site has started leaking and {X_has} chills", N, U, ""),
    ("my little one is two months old and feels hot to the touch", N, U, ""),
]

REFILL_SITUATIONS: list[Pattern] = [
    ("I went to pick up {med} and the pharmacy said there are no refills left", RF, R, ""),
    ("the pharmacy sent me away because the prescription needs the doctor's okay", RF, R, ""),
    ("my bottle of {med} says zero refills", RF, R, ""),
    ("I'll run out of {med} on the weekend", RF, R, ""),
    ("I'm leaving the country for a month and only have two weeks of {med}", RF, R, ""),
    ("{pharmacy} keeps telling me they're waiting on your office", RF, R, ""),
    ("the app says my prescription request was denied and I don't know why", RF, R, ""),
    ("my insurance will only pay if the prescription is for ninety days", RF, R, ""),
    ("{insurer} sent a letter that {pamed} isn't covered without approval from the doctor", RF, R, ""),
    ("the specialist stopped seeing me and now nobody is writing my {med}", RF, R, ""),
    ("I'm at the pharmacy counter right now and they can't find my prescription", RF, R, ""),
    ("the dose on the new bottle of {med} is different from my last one", RF, R, ""),
    ("I have two pills of {critmed} left and the pharmacy needs the doctor today", RF, U, ""),
    ("the pharmacy can't fill {P} {critmed} until the doctor calls, and {X_is} out", RF, U, ""),
]

BILLING_SITUATIONS: list[Pattern] = [
    ("I got a letter saying my account is past due", BI, R, ""),
    ("there's a charge from your office on my credit card that I don't recognize", BI, R, ""),
    ("my insurance sent a paper saying the claim was denied", BI, R, ""),
    ("the amount on my statement doesn't match what {insurer} says I owe", BI, R, ""),
    ("I paid at the front desk but the statement still shows a balance", BI, R, ""),
    ("I got two statements for the same date of service", BI, R, ""),
    ("my new job has different insurance starting this month", BI, R, ""),
    ("I just turned sixty five and switched to Medicare", BI, R, ""),
    ("I got a text saying I have a balance of {amount}", BI, R, ""),
    ("the portal says I owe {amount} but I thought it was paid", BI, R, ""),
    ("the collections agency called me about a bill from your clinic", BI, R, ""),
    ("I was told the visit would be free and now there's a charge", BI, R, ""),
    ("the lab sent me a separate bill and I don't know who to pay", BI, R, ""),
    ("I can't afford the whole amount this month", BI, R, ""),
    ("my husband passed and his bills are still coming in his name", BI, R, ""),
    ("my employer needs proof of what I paid for my visits", BI, R, ""),
    ("the pharmacy isn't the problem, it's the charge for the office visit", BI, R, "negation"),
]

SCHEDULING_SITUATIONS: list[Pattern] = [
    ("something came up at work and I can't make it on {day}", SC, R, ""),
    ("my car broke down so I'll miss my visit this afternoon", SC, R, ""),
    ("I got a reminder but I don't remember booking anything", SC, R, ""),
    ("the doctor said to come back in three months and it's been three months", SC, R, ""),
    ("I'm due for my yearly physical", SC, R, ""),
    ("my daughter starts school next month and needs her checkup", SC, R, ""),
    ("I'm going to be out of town the week of my visit", SC, R, ""),
    ("the specialist wants me to see my regular doctor before the surgery", SC, R, ""),
    ("I was supposed to get a call to set up my {test} and nobody called", SC, R, ""),
    ("my video visit froze halfway through and we got cut off", SC, R, ""),
    ("the link in the email for my virtual visit says expired", SC, R, ""),
    ("I'm outside and the door is locked, aren't you open today", SC, R, ""),
    ("I was on the waiting list for {doctor}, did anything open up", SC, R, ""),
    ("I'm a new patient and my old doctor retired", SC, R, ""),
    ("my insurance requires a yearly wellness visit and I haven't had one", SC, R, ""),
    ("the nurse said the doctor wants to see me in two weeks about my {test}", SC, R, ""),
    ("I'm feeling better so I don't think I need Thursday's visit anymore", SC, R, ""),
]

FRONT_DESK_SITUATIONS: list[Pattern] = [
    ("my new doctor's office says they never got my chart from you", FD, R, ""),
    ("the specialist's office is waiting on a referral from you", FD, R, ""),
    ("my employer is asking for proof that I was seen on {day}", FD, R, ""),
    ("my son's school wants his shot records by Friday", FD, R, ""),
    ("the disability office needs the doctor to sign a form", FD, R, ""),
    ("I'm applying for a job and they need a physical form completed", FD, R, ""),
    ("the lawyer asked me to get copies of my visit notes", FD, R, ""),
    ("I moved to a new apartment last month", FD, R, ""),
    ("I got a new phone number and you still have the old one", FD, R, ""),
    ("I'm in the building but I can't find your suite", FD, R, ""),
    ("the GPS took me to the old address", FD, R, ""),
    ("somebody from your office called me and I missed it", FD, R, ""),
    ("I was told to ask for {staff} when I called", FD, R, ""),
    ("I can't get into the portal to see my messages", FD, R, ""),
    ("I sent a fax this morning and want to make sure it went through", FD, R, ""),
    ("I was here yesterday and I think I left my keys", FD, R, ""),
    ("I was treated rudely at check in and I want someone to know", FD, R, ""),
    ("I'm not sure if I'm calling the right place", FD, R, ""),
]
