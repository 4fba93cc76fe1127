"""Deterministic demo data: fictional West of England businesses and public buyers.

Everything comes from a fixed seed and a fixed reference date, so demo databases,
screenshots and tests are reproducible. Names, people, websites (reserved
``.example`` domains) and phone numbers (Ofcom drama ranges) are all fictional.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from typing import NamedTuple

from .gazetteer import Town, find_town

SEED = 2026
# Certificate expiry dates are relative to this, not to today, so output never drifts.
REFERENCE_DATE = dt.date(2026, 12, 1)
REGION = "South West"
KEYS = (
    "key", "name", "summary", "description", "capabilities", "cpv_codes", "size", "employees",
    "year_founded", "website", "contact_name", "contact_email", "phone", "town", "postcode",
    "region", "lat", "lon", "service_radius_km", "certifications", "owner",
)

EMPLOYEES = {"micro": (2, 9), "small": (10, 49), "medium": (50, 120)}
DEFAULT_SIZES = (55, 38, 7)  # weights for micro, small, medium
SOLO = (70, 30, 0)
LARGER = (20, 50, 30)

# Postcode districts that mostly share Bristol's 0117 dialling code.
BRISTOL_DIALLING = {f"BS{n}" for n in (*range(1, 17), 30, 31, 34)}
# Unit letters never used in UK postcodes: C, I, K, M, O, V.
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

FIRST_NAMES = (
    "Agnieszka", "Aisha", "Alex", "Amara", "Ben", "Bethan", "Callum", "Chloe", "Daniel",
    "Deepa", "Eleanor", "Ellis", "Fatima", "Femi", "Freya", "Gareth", "George", "Grace",
    "Hannah", "Harvey", "Imran", "Isla", "Jack", "Jade", "James", "Joanna", "Kai", "Kerry",
    "Leon", "Lily", "Lucy", "Mariusz", "Maya", "Mohammed", "Nadia", "Naomi", "Oliver",
    "Owen", "Priya", "Rhys", "Rosie", "Ruth", "Sam", "Sian", "Sophie", "Tariq", "Tom",
    "Wei", "Yusuf", "Zara",
)
SURNAMES = (
    "Ahmed", "Bennett", "Brooks", "Carter", "Chen", "Clarke", "Coles", "Davies", "Doyle",
    "Evans", "Fisher", "Foster", "Green", "Hale", "Hughes", "Iqbal", "Jenkins", "Kaur",
    "Kowalski", "Lewis", "Mahmood", "Marsh", "Mitchell", "Morgan", "Nowak", "Okafor",
    "Osei", "Parsons", "Patel", "Pearce", "Price", "Rees", "Reynolds", "Shah", "Singh",
    "Spencer", "Tanner", "Thomas", "Turner", "Vaughan", "Walsh", "Watts", "Webb",
    "Williams", "Wright", "Young",
)

# name -> (issuer, number pattern; each "#" becomes a random digit)
CERTIFICATIONS = {
    "ISO 9001": ("BSI", "FS ######"),
    "ISO 14001": ("BSI", "EMS ######"),
    "ISO 27001": ("LRQA", "ISMS-######"),
    "ISO 45001": ("NQA", "OHS######"),
    "ISO 17100": ("Bureau Veritas", "GB-TS-#####"),
    "ISO 20121": ("NQA", "ESM####"),
    "ISO 22000": ("LRQA", "FSMS-#####"),
    "Cyber Essentials": ("IASME Consortium", "IASME-CE-######"),
    "Cyber Essentials Plus": ("IASME Consortium", "IASME-CEP-######"),
    "CHAS": ("CHAS", "CHAS-######"),
    "Constructionline Gold": ("Constructionline", "CL#######"),
    "SafeContractor": ("Alcumus SafeContractor", "SC-######"),
    "TrustMark": ("TrustMark", "TM#######"),
    "Gas Safe Register": ("Gas Safe Register", "######"),
    "NICEIC Approved Contractor": ("NICEIC", "NIC-######"),
    "MCS Certified Installer": ("MCS", "NAP-#####"),
    "OZEV Approved Installer": ("Office for Zero Emission Vehicles", "OZEV-#####"),
    "BAFE SP203-1": ("BAFE", "BAFE-####"),
    "FENSA": ("FENSA", "FENSA-#####"),
    "FSC Chain of Custody": ("Soil Association Certification", "SA-COC-######"),
    "SIA Approved Contractor Scheme": ("Security Industry Authority", "ACS-#####"),
    "NSI Gold": ("National Security Inspectorate", "NSI-####"),
    "HSE Asbestos Licence": ("Health and Safety Executive", "LIC-####"),
    "Waste Carrier Licence (Upper Tier)": ("Environment Agency", "CBDU######"),
    "Arboricultural Association Approved Contractor": ("Arboricultural Association", "AAC-###"),
    "BPCA Membership": ("British Pest Control Association", "BPCA-####"),
    "LEIA Membership": ("Lift and Escalator Industry Association", "LEIA-###"),
    "Lexcel": ("The Law Society", "LEX-#####"),
    "ICAEW Practice Assurance": ("ICAEW", "C00######"),
    "RICS Regulated Firm": ("RICS", "RICS-######"),
    "RIBA Chartered Practice": ("RIBA", "RIBA-#####"),
    "SALSA": ("SALSA", "SALSA-####"),
    "Matrix Standard": ("Matrix Standard", "MX-#####"),
    "Investors in People": ("Investors in People", "IIP-######"),
    "B Corp Certification": ("B Lab", "BC-#####"),
}


class Business(NamedTuple):
    name: str
    town: str
    pitch: str  # first paragraph of the description
    capabilities: tuple[str, ...]  # most important first; the summary names the first three
    cpv_codes: tuple[str, ...]  # main activity first


class Trade(NamedTuple):
    noun: str
    radius_km: tuple[int, int]
    certifications: tuple[str, ...]  # each business holds up to three of these
    businesses: tuple[Business, ...]
    size_weights: tuple[int, int, int] = DEFAULT_SIZES


TRADES = (
    Trade("general building contractor", (15, 60),
          ("CHAS", "Constructionline Gold", "SafeContractor", "ISO 9001", "TrustMark"), (
        Business(
            "Harbourside Build Co.", "Bristol",
            "We run small-works and refurbishment contracts for schools, GP surgeries and "
            "community centres, phasing the work so buildings stay open throughout.",
            ("commercial refurbishment", "school building works", "small works",
             "extensions and alterations", "accessible adaptations"),
            ("45453000", "45214000", "45262700", "45210000"),
        ),
        Business(
            "Lansdown Stone & Restoration", "Bath",
            "We repair and adapt listed Bath-stone buildings, from cornice repairs to sash "
            "reinstatement, and write the method statements conservation officers ask for.",
            ("heritage repairs", "stone masonry", "lime plastering", "listed building alterations",
             "conservation method statements"),
            ("45453100", "45262522", "45262700", "45210000"),
        ),
        Business(
            "Mendip Vale Builders", "Midsomer Norton",
            "A family firm turning round void properties, level-access showers and "
            "ground-floor extensions for housing associations across the Mendips.",
            ("void property works", "accessible adaptations", "extensions and alterations",
             "kitchen and bathroom replacement", "brickwork"),
            ("45211000", "45453000", "45262700", "45262520"),
        ),
    )),
    Trade("electrical contractor", (15, 50),
          ("NICEIC Approved Contractor", "CHAS", "SafeContractor", "TrustMark"), (
        Business(
            "Brightwire Electrical", "Kingswood",
            "We rewire tenanted homes, test and certify landlord portfolios and swap tired "
            "fluorescent fittings for low-energy lighting in offices, halls and schools.",
            ("domestic rewires", "periodic inspection and testing", "landlord safety certificates",
             "low-energy lighting upgrades", "distribution board replacement"),
            ("45311000", "50711000", "45316000", "71314100"),
        ),
        Business(
            "Cotswold Edge Electrical", "Chipping Sodbury",
            "Our electricians look after village halls, churches, farm buildings and small "
            "industrial units along the Cotswold edge, with a same-week testing service.",
            ("commercial electrical installation", "periodic inspection and testing",
             "emergency lighting", "three-phase supplies", "outdoor and security lighting"),
            ("45310000", "45315100", "50711000", "45316000"),
        ),
    )),
    Trade("plumbing and heating engineer", (10, 45),
          ("Gas Safe Register", "CHAS", "MCS Certified Installer", "TrustMark"), (
        Business(
            "Redcliffe Heating & Plumbing", "Redcliffe",
            "Our Gas Safe engineers service, repair and replace boilers across social-housing "
            "stock, with a 24-hour callout rota for heating failures in winter.",
            ("boiler servicing and repair", "gas safety inspections",
             "central heating installation", "emergency callouts", "planned maintenance contracts"),
            ("50720000", "45331100", "45333000", "45330000"),
        ),
        Business(
            "Wansdyke Plumbing Services", "Keynsham",
            "We fit accessible bathrooms and wet rooms under disabled facilities grants and "
            "keep heating running in small offices and shops between Bristol and Bath.",
            ("bathroom adaptations", "wet room installation", "heat pump installation",
             "commercial plumbing", "legionella water testing"),
            ("45330000", "45331000", "42511110"),
        ),
    )),
    Trade("roofing contractor", (15, 60),
          ("CHAS", "SafeContractor", "Constructionline Gold", "TrustMark"), (
        Business(
            "Selwood Roofing", "Frome",
            "We strip and re-cover slate and clay-tile roofs, renew leadwork on chapels and "
            "listed cottages, and install warm flat roofs on school extensions.",
            ("slate and tile roofing", "lead work", "heritage roofing", "flat roofing",
             "roof insulation"),
            ("45261210", "45261300", "45261410", "45261000"),
        ),
        Business(
            "Channel View Roofing", "Weston-super-Mare",
            "Salt air is hard on roofs: we repair storm damage, renew fascias and gutters, and "
            "maintain flat roofs on seafront hotels, flats and schools.",
            ("roof repairs", "flat roofing", "guttering and fascias", "storm damage repairs",
             "roof surveys"),
            ("45261900", "45261300", "45261400", "45261210"),
        ),
    )),
    Trade("landscaping and grounds maintenance company", (10, 40),
          ("CHAS", "SafeContractor", "ISO 14001"), (
        Business(
            "Greenhollow Landscapes", "Nailsea",
            "We design and build school gardens, outdoor classrooms and accessible paths, "
            "then look after them with fortnightly maintenance visits.",
            ("hard landscaping", "school grounds care", "outdoor classrooms",
             "play area installation", "accessible paths"),
            ("45112700", "77314000", "77311000"),
        ),
        Business(
            "Avon Meadow Grounds Care", "Thornbury",
            "We maintain verges, parks, cemeteries and sports pitches for parish and town "
            "councils, cutting to biodiversity-friendly schedules where clients want it.",
            ("grounds maintenance", "sports pitch maintenance", "wildflower meadow creation",
             "cemetery maintenance", "hedge cutting"),
            ("77314000", "77313000", "77310000", "77340000"),
        ),
    )),
    Trade("commercial cleaning company", (10, 35),
          ("SafeContractor", "CHAS", "ISO 9001", "ISO 14001"), (
        Business(
            "Tidewell Cleaning Services", "Bristol",
            "We clean offices, libraries and community buildings across central Bristol before "
            "opening time, with named supervisors and a photo report after every deep clean.",
            ("office cleaning", "deep cleans", "washroom services", "window cleaning",
             "graffiti removal"),
            ("90919200", "90911200", "90911300", "90690000"),
        ),
        Business(
            "Abbey Green Cleaning Co-operative", "Bath",
            "An employee-owned co-operative paying the real Living Wage, cleaning schools, "
            "surgeries and offices in Bath with refillable, low-chemical products.",
            ("school cleaning", "office cleaning", "healthcare cleaning", "eco-friendly products",
             "living wage employer"),
            ("90919300", "90919200", "90910000"),
        ),
    ), LARGER),
    Trade("catering company", (10, 50), ("SALSA", "ISO 22000", "ISO 14001"), (
        Business(
            "Pomona Kitchen", "Bath",
            "We cook seasonal conference and event food from Somerset producers, with full "
            "allergen labelling and compostable packaging as standard.",
            ("conference catering", "event catering", "locally sourced food",
             "allergen-aware menus", "staff canteens"),
            ("55520000", "55320000", "55510000"),
        ),
        Business(
            "Little Mill School Meals", "Radstock",
            "We cook fresh lunches in our Radstock kitchen for primary schools nearby, meeting "
            "the School Food Standards with menus the children help to choose.",
            ("school meals", "allergen-aware menus", "breakfast clubs", "holiday activity meals",
             "community meal delivery"),
            ("55524000", "55523100", "55521200"),
        ),
    )),
    Trade("security company", (15, 80),
          ("SIA Approved Contractor Scheme", "NSI Gold", "ISO 9001", "SafeContractor"), (
        Business(
            "Kestrel Watch Security", "Avonmouth",
            "We provide licensed guards, keyholding and overnight mobile patrols for depots, "
            "construction sites and empty council buildings around Severnside.",
            ("manned guarding", "mobile patrols", "keyholding and alarm response",
             "void property security", "event security"),
            ("79713000", "79715000", "79711000", "79710000"),
        ),
        Business(
            "Tyndall Alarm Systems", "Filton",
            "We design, install and maintain intruder alarms, access control and camera "
            "systems for schools, surgeries and small business parks.",
            ("intruder alarms", "access control", "security camera systems", "remote monitoring",
             "alarm maintenance"),
            ("45312000", "35125300", "79711000", "79714000"),
        ),
    ), LARGER),
    Trade("IT support provider", (10, 80), ("Cyber Essentials Plus", "ISO 27001", "ISO 9001"), (
        Business(
            "Cabot Circuit IT", "Bristol",
            "We run the helpdesk, networks and backups for schools, charities and GP practices, "
            "and move small organisations off ageing servers into the cloud.",
            ("managed desktop support", "helpdesk services", "cloud email migration",
             "backup and recovery", "cyber security hardening"),
            ("72253000", "72250000", "72611000", "72700000"),
        ),
        Business(
            "Chalkhill IT Support", "Chippenham",
            "We look after the computers, Wi-Fi and phones of parish councils, solicitors and "
            "small manufacturers across north Wiltshire, on site within four hours.",
            ("on-site computer support", "network installation", "wireless networks",
             "laptop and device provisioning", "hardware repair"),
            ("72611000", "72710000", "50312000", "72250000"),
        ),
    )),
    Trade("software development studio", (20, 120),
          ("Cyber Essentials Plus", "ISO 27001", "ISO 9001"), (
        Business(
            "Ferryboat Software", "Southville",
            "We build and support case-management, booking and grant-application systems for "
            "councils and charities, usually replacing spreadsheets and shared inboxes.",
            ("case management systems", "online booking and payments", "grant application portals",
             "data migration", "integration with existing systems"),
            ("72230000", "72212000", "72263000", "72260000"),
        ),
        Business(
            "Quaywise Digital", "Bath",
            "A multidisciplinary team that designs and builds public services to the "
            "GOV.UK Service Standard, from discovery through to live support.",
            ("digital public services", "user research", "service design", "accessibility testing",
             "agile delivery"),
            ("72262000", "72230000", "72421000", "72224000"),
        ),
    )),
    Trade("web design studio", (20, 120), ("Cyber Essentials",), (
        Business(
            "Leafline Web Studio", "Stroud",
            "We design accessible, fast websites for parish councils, museums and small "
            "charities, and train their staff to keep the content up to date.",
            ("website design", "accessible web content", "content management systems",
             "website hosting", "content editor training"),
            ("72413000", "72415000"),
        ),
        Business(
            "Pixel & Pier", "Clevedon",
            "We build websites, online shops and booking pages for local tourism businesses "
            "and community organisations, with photography from our own seafront walks.",
            ("website design", "online shops", "brand identity", "search engine optimisation"),
            ("72413000", "72421000", "79822500"),
        ),
    ), SOLO),
    Trade("printing company", (20, 100), ("FSC Chain of Custody", "ISO 14001", "ISO 9001"), (
        Business(
            "Cathedral City Print", "Wells",
            "We print consultation leaflets, annual reports and poll cards on FSC-certified "
            "stock, with in-house mailing for council and charity mailshots.",
            ("litho printing", "election and ballot printing", "leaflets and brochures",
             "mailing and fulfilment", "graphic design"),
            ("79810000", "22100000", "79823000", "79822500"),
        ),
        Business(
            "Redland Press", "Redland",
            "A digital and large-format print shop producing banners, exhibition boards and "
            "short-run booklets, often within 48 hours.",
            ("digital printing", "large-format printing", "exhibition graphics",
             "short-run booklets"),
            ("79810000", "79820000", "79800000"),
        ),
    )),
    Trade("translation and interpreting agency", (30, 120), ("ISO 17100", "ISO 9001"), (
        Business(
            "Babelbridge Language Services", "Clifton",
            "Our network of qualified linguists translates patient letters and council notices "
            "and interprets face to face in clinics, courts and schools.",
            ("document translation", "face-to-face interpreting", "telephone interpreting",
             "multilingual typesetting", "easy read versions"),
            ("79530000", "79540000", "79553000"),
        ),
        Business(
            "Vale Interpreting Co-op", "Gloucester",
            "A co-operative of community interpreters supporting housing, health and school "
            "appointments in Polish, Romanian, Arabic, Pashto and British Sign Language.",
            ("community interpreting", "sign language interpreting", "telephone interpreting",
             "english language classes"),
            ("79540000", "79530000", "80580000"),
        ),
    ), SOLO),
    Trade("architecture practice", (20, 100), ("RIBA Chartered Practice", "ISO 9001"), (
        Business(
            "Marlow Yeo Architects", "Bath",
            "We design low-energy schools, libraries and community halls, and are used to "
            "steering projects through listed-building consent in Bath.",
            ("school design", "passivhaus design", "conservation and listed buildings",
             "planning applications", "community building design"),
            ("71221000", "71220000", "71200000"),
        ),
        Business(
            "Kite & Fennel Architects", "Bedminster",
            "We help community groups and councils turn underused buildings into workspaces, "
            "cafes and youth centres, from feasibility through to planning.",
            ("feasibility studies", "community building design", "change of use",
             "public consultation", "landscape design"),
            ("71220000", "71240000", "71410000", "71420000"),
        ),
    )),
    Trade("chartered surveying practice", (20, 80), ("RICS Regulated Firm", "ISO 9001"), (
        Business(
            "Alder & Tuck Chartered Surveyors", "Bath",
            "We carry out condition surveys and planned-maintenance programmes for schools and "
            "housing estates, then administer the contracts for the works that follow.",
            ("condition surveys", "planned maintenance programmes", "contract administration",
             "building surveys", "party wall services"),
            ("71315300", "71315200", "71250000"),
        ),
        Business(
            "Westcombe Survey Partnership", "Taunton",
            "We provide measured building surveys, topographical surveys and cost plans for "
            "public-sector projects across Somerset.",
            ("measured surveys", "topographical surveys", "quantity surveying", "cost planning"),
            ("71355000", "71324000", "71354000", "71250000"),
        ),
    )),
    Trade("civil engineering consultancy", (20, 100),
          ("ISO 9001", "ISO 14001", "Constructionline Gold"), (
        Business(
            "Gorge Line Engineering", "Hotwells",
            "We design and check structures, retaining walls and footbridges, and carry out "
            "principal inspections of highway structures for local authorities.",
            ("structural engineering", "bridge inspections", "retaining wall design",
             "footbridge design", "temporary works design"),
            ("71312000", "71311000", "71322000"),
        ),
        Business(
            "Axe Valley Civils", "Cheddar",
            "We design and build small highway, drainage and flood-resilience schemes for "
            "councils and parishes across the Somerset Levels and Mendip.",
            ("flood resilience schemes", "highway design", "drainage design",
             "active travel schemes", "road maintenance"),
            ("71311000", "71311200", "45233140", "45232450"),
        ),
    )),
    Trade("environmental consultancy", (20, 120), ("ISO 14001", "ISO 9001"), (
        Business(
            "Blue Lias Environmental", "Street",
            "We assess contaminated land, air quality and noise for planning applications, and "
            "help councils and schools measure their carbon footprint.",
            ("contaminated land", "carbon footprinting", "net zero planning", "noise assessment"),
            ("90713000", "71313000", "90714000", "71351500"),
        ),
        Business(
            "Estuary Environmental Consulting", "Portishead",
            "We monitor air quality and noise around ports, depots and building sites, and "
            "write the environmental statements that go with planning applications.",
            ("air quality monitoring", "noise assessment", "environmental impact assessment",
             "dust monitoring"),
            ("90731000", "71313400", "90711000", "90713000"),
        ),
    )),
    Trade("ecological consultancy", (20, 100), ("ISO 14001",), (
        Business(
            "Nightjar Ecology", "Glastonbury",
            "We survey bats, dormice, otters and great crested newts, and write the biodiversity "
            "net gain assessments now needed for most planning applications.",
            ("protected species surveys", "bat surveys", "biodiversity net gain assessment",
             "great crested newt licensing"),
            ("90711000", "71313400", "90720000"),
        ),
        Business(
            "Hazel Dormouse Ecology", "Bradford-on-Avon",
            "We write habitat management plans for councils, schools and landowners, and act "
            "as ecological clerk of works on sensitive sites.",
            ("habitat management plans", "ecological clerk of works", "hedgerow surveys",
             "biodiversity net gain assessment"),
            ("90712000", "90720000", "90711300"),
        ),
    ), SOLO),
    Trade("waste and recycling company", (15, 70),
          ("Waste Carrier Licence (Upper Tier)", "ISO 14001", "ISO 9001"), (
        Business(
            "Second Round Recycling", "Bedminster",
            "We collect mixed recycling, food waste and confidential paper from offices and "
            "schools by electric van, and pass reusable furniture to local charities.",
            ("recycling collections", "food waste collection", "confidential shredding",
             "furniture reuse", "zero-emission collections"),
            ("90514000", "90511000", "90500000"),
        ),
        Business(
            "Wiltshire Loop Waste Services", "Trowbridge",
            "We run trade waste and recycling rounds across west Wiltshire, with skip hire and "
            "waste audits that help clients cut the tonnage they send to landfill.",
            ("commercial waste collection", "skip hire", "waste audits", "recycling collections"),
            ("90511000", "90512000", "90513000", "90514000"),
        ),
    )),
    Trade("transport and logistics company", (10, 120),
          ("ISO 9001", "ISO 14001", "SafeContractor"), (
        Business(
            "Pedal & Parcel", "Bristol",
            "Our cargo-bike couriers carry documents, lab samples and parcels across central "
            "Bristol within the hour, with no tailpipe emissions.",
            ("cargo bike deliveries", "same-day courier", "sample transport",
             "last-mile delivery"),
            ("64120000", "60161000"),
        ),
        Business(
            "Sedgemoor Haulage & Storage", "Bridgwater",
            "We run vans and rigid trucks from a warehouse beside the M5, handling storage, "
            "pallet distribution and office moves.",
            ("pallet distribution", "storage and warehousing", "office relocations",
             "temperature-controlled delivery", "archive storage"),
            ("60100000", "63120000", "63100000", "98392000"),
        ),
    )),
    Trade("furniture maker and supplier", (20, 120), ("FSC Chain of Custody", "ISO 14001"), (
        Business(
            "Oakapple Workshop", "Nailsworth",
            "We make hard-wearing classroom, library and reception furniture from "
            "FSC-certified British hardwoods in our Nailsworth workshop.",
            ("school furniture", "library shelving", "bespoke furniture",
             "reception desks"),
            ("39160000", "39120000", "39100000"),
        ),
        Business(
            "Reclaim Office Furniture", "Patchway",
            "We clear, refurbish and resupply desks, chairs and storage, so fitting out an "
            "office costs less and sends nothing to landfill.",
            ("refurbished furniture", "office furniture", "office clearance", "furniture repair",
             "space planning"),
            ("39130000", "50850000", "39150000"),
        ),
    )),
    Trade("sign maker", (15, 80), ("CHAS", "SafeContractor"), (
        Business(
            "Signal Post Signs", "Yate",
            "We design, make and install wayfinding, safety and building signage for schools, "
            "health centres and business parks.",
            ("wayfinding signage", "safety signage", "illuminated signs", "sign installation"),
            ("34928470", "44423400", "34992000"),
        ),
        Business(
            "Old Mill Signs & Graphics", "Melksham",
            "We produce interpretation panels for parks and nature reserves, fleet graphics "
            "and shop fascias, all from our Melksham workshop.",
            ("interpretation panels", "vehicle graphics", "shop fascias", "window graphics"),
            ("35261000", "44423400", "79822500"),
        ),
    )),
    Trade("event management company", (20, 120), ("ISO 20121",), (
        Business(
            "Crescent & Co Events", "Bath",
            "We plan and run conferences, civic ceremonies and consultation events, handling "
            "venues, registration, accessibility and live streaming.",
            ("conference management", "civic events", "hybrid and online events",
             "delegate registration", "exhibition stands"),
            ("79951000", "79952000", "79956000"),
        ),
        Business(
            "Harbour Lantern Events", "Bristol",
            "We produce outdoor festivals, lantern parades and community fun days, including "
            "traffic management plans and event safety documents.",
            ("festival production", "community events", "event health and safety",
             "traffic management plans"),
            ("79953000", "79952100", "79952000", "79954000"),
        ),
    )),
    Trade("training provider", (20, 120), ("Matrix Standard", "ISO 9001"), (
        Business(
            "Steady Hands First Aid Training", "Weston-super-Mare",
            "We teach regulated first-aid, fire-marshal and mental-health first-aid courses on "
            "site for schools, councils and small employers.",
            ("first aid training", "fire marshal training", "mental health first aid",
             "health and safety courses"),
            ("80562000", "80550000", "80510000"),
        ),
        Business(
            "Upskill Avon Training", "Bradley Stoke",
            "We run digital skills, customer service and management courses for employers and "
            "jobseekers, in person and online.",
            ("digital skills courses", "leadership development", "customer service training",
             "apprenticeship support"),
            ("80500000", "80533100", "80530000", "80570000"),
        ),
    )),
    Trade("care provider", (10, 40), ("ISO 9001", "Cyber Essentials", "Investors in People"), (
        Business(
            "Homeward Care Partners", "Bath",
            "Our care workers help older people get home from hospital and stay there, with "
            "reablement visits agreed with the hospital discharge team.",
            ("home care", "reablement", "hospital discharge support", "dementia care",
             "end of life care"),
            ("85311100", "85312400", "85323000"),
        ),
        Business(
            "Brambleside Home Care", "Shepton Mallet",
            "We provide home care and supported living for adults with learning disabilities "
            "in east Mendip, with the same small team visiting each person.",
            ("supported living", "learning disability support", "respite care", "home care"),
            ("85311200", "85312400", "85310000"),
        ),
    ), LARGER),
    Trade("law firm", (20, 120), ("Lexcel", "Cyber Essentials"), (
        Business(
            "Hallam Pryce Solicitors", "Bristol",
            "We advise councils, housing associations and charities on procurement, contracts "
            "and property, and represent them at tribunals.",
            ("public procurement law", "contract drafting", "property and leases",
             "employment tribunals", "housing law"),
            ("79110000", "79111000", "79112000", "79100000"),
        ),
        Business(
            "Lyncombe Law", "Bath",
            "A practice advising charities, social enterprises and small businesses on "
            "governance, employment and commercial leases.",
            ("charity law", "governance advice", "employment law", "commercial leases"),
            ("79111000", "79140000", "79130000"),
        ),
    )),
    Trade("accountancy practice", (20, 100), ("ICAEW Practice Assurance", "Cyber Essentials"), (
        Business(
            "Tally & Ledger Accountants", "Thornbury",
            "We keep the books, run payroll and prepare year-end accounts for parish councils, "
            "charities and family businesses.",
            ("bookkeeping", "payroll", "year-end accounts", "tax returns"),
            ("79211100", "79211110", "79211000", "79221000"),
        ),
        Business(
            "Northgate Numbers", "Gloucester",
            "We audit and independently examine charity accounts, and prepare grant claims and "
            "management reports for community organisations.",
            ("independent examination", "audit", "grant claims", "management accounts"),
            ("79212000", "79210000", "79200000"),
        ),
    )),
    Trade("marketing agency", (20, 120), ("Cyber Essentials", "B Corp Certification"), (
        Business(
            "Fieldnote Marketing", "Bristol",
            "We run public consultation and behaviour-change campaigns, from recycling to active "
            "travel and vaccination take-up, and report on what changed.",
            ("behaviour change campaigns", "public consultation", "campaign evaluation",
             "market research", "copywriting"),
            ("79342000", "79310000", "79413000", "79340000"),
        ),
        Business(
            "Moonraker Communications", "Devizes",
            "We handle press, social media and newsletters for market towns, museums and rural "
            "businesses across Wiltshire.",
            ("public relations", "social media", "newsletters", "tourism marketing"),
            ("79416000", "79342000", "79341000", "79342200"),
        ),
    ), SOLO),
    Trade("photography and video studio", (20, 120), (), (
        Business(
            "Small Hours Films", "Bristol",
            "We make short documentaries, explainer videos and animations for public campaigns, "
            "always delivered with captions and audio description.",
            ("documentary production", "explainer videos", "animation", "subtitling and captioning",
             "audio description"),
            ("92111000", "92111250", "92111200"),
        ),
        Business(
            "Avon Lens Photography", "Keynsham",
            "We photograph civic events, buildings and people for annual reports, websites and "
            "press, including drone shots of sites and estates.",
            ("event photography", "architectural photography", "drone filming", "portraits"),
            ("79961000", "79961100"),
        ),
    ), SOLO),
    Trade("joinery workshop", (15, 60), ("FSC Chain of Custody", "CHAS", "TrustMark"), (
        Business(
            "Quantock Joinery", "Bridgwater",
            "We make and fit fire doors, staircases and built-in furniture for schools, flats "
            "and offices, all from FSC-certified timber.",
            ("fire doors", "staircases", "built-in furniture", "shopfitting"),
            ("45421000", "45422000", "44220000", "45421150"),
        ),
        Business(
            "Barnhouse Joinery", "Bradford-on-Avon",
            "We repair and replicate traditional sash windows and panelled doors for listed "
            "buildings in Bradford-on-Avon, Bath and the villages around them.",
            ("sash window repair", "bespoke joinery", "panelled doors", "heritage joinery"),
            ("45421000", "45421100", "44220000"),
        ),
    )),
    Trade("painting and decorating contractor", (10, 45),
          ("CHAS", "SafeContractor", "TrustMark"), (
        Business(
            "Hollis & Daughter Decorators", "Hanham",
            "We redecorate classrooms, corridors and communal areas over the school holidays "
            "and turn round empty homes for housing associations within days.",
            ("interior decorating", "void property decoration", "school holiday works",
             "wallpapering", "anti-graffiti coatings"),
            ("45442110", "45442100", "45442000"),
        ),
        Business(
            "Bathwick Painters", "Bath",
            "We paint Georgian exteriors, railings and shopfronts with breathable mineral and "
            "limewash finishes that suit Bath stone.",
            ("exterior painting", "heritage finishes", "railing restoration", "shopfront painting"),
            ("45442110", "45440000", "45442000"),
        ),
    )),
    Trade("flooring contractor", (15, 70), ("CHAS", "Constructionline Gold", "SafeContractor"), (
        Business(
            "Treadwell Flooring", "Emersons Green",
            "We lay safety vinyl, carpet tiles and entrance matting in schools, surgeries and "
            "offices, working nights and weekends to avoid disruption.",
            ("safety flooring", "carpet tiles", "entrance matting", "out-of-hours fitting"),
            ("45432111", "45432130", "39530000"),
        ),
        Business(
            "Underfoot Contract Flooring", "Swindon",
            "We install and refurbish sports hall, resin and timber floors for schools and "
            "leisure centres across Wiltshire and Gloucestershire.",
            ("sports hall floors", "resin flooring", "floor sanding", "line marking"),
            ("45432110", "45432100", "44112200"),
        ),
    )),
    Trade("asbestos specialist", (20, 100),
          ("HSE Asbestos Licence", "CHAS", "SafeContractor"), (
        Business(
            "Fibrecheck Asbestos Services", "Avonmouth",
            "We survey, sample and remove asbestos from schools and council buildings ahead of "
            "refurbishment, working under a full HSE licence.",
            ("licensed asbestos removal", "refurbishment surveys", "air monitoring",
             "demolition soft strip"),
            ("45262660", "90650000", "71632000"),
        ),
        Business(
            "Mendip Asbestos Surveys", "Radstock",
            "We carry out management and refurbishment surveys and keep asbestos registers up "
            "to date for schools, churches and landlords.",
            ("asbestos surveys", "asbestos management plans", "asbestos registers",
             "asbestos awareness training"),
            ("71630000", "71632000", "80550000"),
        ),
    )),
    Trade("fire safety company", (20, 80), ("BAFE SP203-1", "SafeContractor", "CHAS"), (
        Business(
            "Firebreak Protection Services", "Stoke Gifford",
            "We install and maintain fire alarms, emergency lighting and extinguishers, and "
            "carry out fire risk assessments for schools and blocks of flats.",
            ("fire alarm installation", "extinguisher servicing", "emergency lighting testing",
             "fire risk assessments"),
            ("45312100", "50413200", "35111300", "71317100"),
        ),
        Business(
            "Ember Guard Fire Safety", "Cheltenham",
            "We inspect and repair fire doors and compartmentation in housing blocks and care "
            "homes, with a photo-evidenced report for every door.",
            ("fire door inspections", "fire stopping", "compartmentation surveys",
             "fire door repairs"),
            ("45343000", "45343100", "71317100"),
        ),
    )),
    Trade("lift engineering company", (30, 120),
          ("LEIA Membership", "ISO 9001", "SafeContractor"), (
        Business(
            "Stairline Lift Services", "Brislington",
            "We install, service and modernise passenger lifts, platform lifts and stairlifts "
            "in offices, schools and sheltered housing.",
            ("lift maintenance", "lift modernisation", "passenger lifts", "platform lifts"),
            ("50750000", "45313100", "42416100"),
        ),
        Business(
            "Downland Lift & Access", "Warminster",
            "We maintain platform lifts and stairlifts in homes adapted under disabled "
            "facilities grants, with a same-day breakdown service.",
            ("stairlifts", "platform lifts", "through-floor lifts",
             "lifting equipment inspections"),
            ("45313100", "50750000"),
        ),
    )),
    Trade("solar and renewables installer", (20, 100),
          ("MCS Certified Installer", "NICEIC Approved Contractor", "TrustMark"), (
        Business(
            "Sunfield Renewables", "Corsham",
            "We design and install rooftop solar, batteries and heat pumps on schools, village "
            "halls and farm buildings, with a monitoring dashboard for each site.",
            ("solar panel installation", "battery storage", "air source heat pumps",
             "energy monitoring"),
            ("09332000", "09331000", "42511110", "45315300"),
        ),
        Business(
            "Levels Solar Co-operative", "Street",
            "A community-owned co-operative that funds, installs and runs solar arrays on "
            "public buildings in Somerset, sharing the savings with the people who use them.",
            ("community energy projects", "solar panel installation", "energy efficiency surveys",
             "power purchase agreements"),
            ("09332000", "45261215", "71314300"),
        ),
    )),
    Trade("electric vehicle charging installer", (20, 100),
          ("OZEV Approved Installer", "NICEIC Approved Contractor", "CHAS"), (
        Business(
            "Plug-In Severn", "Portishead",
            "We install and maintain workplace and depot charge points for councils, housing "
            "associations and fleet operators, including load management.",
            ("workplace charging", "depot charging", "load management",
             "charge point maintenance"),
            ("45310000", "31158000", "50532000", "71314200"),
        ),
        Business(
            "Ampway EV Installations", "Chippenham",
            "We survey car parks, design the grid connection and install on-street and "
            "workplace chargers for towns and businesses across Wiltshire.",
            ("on-street charging", "car park charging", "grid connection design",
             "workplace charging"),
            ("45310000", "45315300", "31158000"),
        ),
    )),
    Trade("drainage contractor", (15, 60),
          ("CHAS", "SafeContractor", "Waste Carrier Licence (Upper Tier)"), (
        Business(
            "Gully & Gutter Drainage", "Worle",
            "We clear blocked drains, empty gullies and survey sewers by camera for councils, "
            "schools and housing associations, around the clock.",
            ("drain unblocking", "gully emptying", "camera drain surveys", "emergency callouts"),
            ("90470000", "90640000", "90491000"),
        ),
        Business(
            "Frome Valley Drains", "Frome",
            "We install and reline drains, soakaways and septic systems for rural homes, farms "
            "and village schools.",
            ("drain relining", "soakaway installation", "septic tank emptying",
             "land drainage"),
            ("45232450", "45232410", "90460000", "45111240"),
        ),
    )),
    Trade("tree surgery company", (10, 50),
          ("Arboricultural Association Approved Contractor", "CHAS"), (
        Business(
            "Heartwood Tree Care", "Long Ashton",
            "We survey and manage trees in schools, parks and cemeteries, including ash "
            "dieback felling programmes and a 24-hour storm response.",
            ("tree felling", "ash dieback management", "emergency tree work", "stump grinding",
             "hedge cutting"),
            ("77211400", "77211300", "77340000"),
        ),
        Business(
            "Canopy & Crown Arboriculture", "Tetbury",
            "We carry out BS 5837 tree surveys for planning applications, and careful pruning "
            "of veteran trees on estates and in churchyards.",
            ("tree surveys", "veteran tree care", "crown reduction", "tree management plans"),
            ("77211500", "77341000", "77211400"),
        ),
    ), SOLO),
    Trade("pest control company", (15, 60), ("BPCA Membership", "SafeContractor"), (
        Business(
            "Barn Owl Pest Control", "Yatton",
            "We keep kitchens, schools and farm buildings free of rats, mice and insects with "
            "monitored baiting and proofing rather than blanket poisoning.",
            ("rodent control", "insect treatment", "pest proofing", "pest prevention contracts"),
            ("90922000", "90923000", "90670000"),
        ),
        Business(
            "Keepwell Pest Solutions", "Fishponds",
            "We run planned pest-prevention contracts for housing blocks, food businesses and "
            "schools in east Bristol, plus bird proofing and wasp callouts.",
            ("pest prevention contracts", "bird proofing", "wasp nest removal",
             "bed bug treatment"),
            ("90922000", "90921000", "90924000"),
        ),
    ), SOLO),
    Trade("facilities management company", (15, 80),
          ("ISO 9001", "ISO 14001", "ISO 45001", "SafeContractor"), (
        Business(
            "Hotwells Facilities Management", "Bristol",
            "We look after community buildings, libraries and small office estates: planned "
            "maintenance, statutory testing, caretaking and a 24/7 repairs line.",
            ("planned preventive maintenance", "statutory compliance", "reactive repairs",
             "helpdesk and job tracking", "caretaking services"),
            ("79993100", "50700000", "98341140", "50800000"),
        ),
        Business(
            "Priory Park FM", "Cirencester",
            "We provide caretaking, reactive repairs and compliance testing for academy schools "
            "and business parks across the Cotswolds.",
            ("caretaking services", "reactive repairs", "statutory compliance",
             "building management"),
            ("79993000", "98341140", "70330000", "50700000"),
        ),
    ), LARGER),
    Trade("scaffolding contractor", (15, 60),
          ("CHAS", "SafeContractor", "Constructionline Gold"), (
        Business(
            "Steeple Scaffolding", "Paulton",
            "We put up access scaffolds, temporary roofs and edge protection for housing, church "
            "and school repair projects.",
            ("access scaffolding", "temporary roofs", "chimney scaffolds", "edge protection"),
            ("45262100", "44212310"),
        ),
    )),
    Trade("glazing company", (15, 60), ("FENSA", "CHAS"), (
        Business(
            "Pennant Glass & Windows", "Downend",
            "We replace and repair windows, safety glazing and shopfronts, and fit slim "
            "secondary glazing in conservation areas.",
            ("window replacement", "secondary glazing", "safety glass", "shopfronts"),
            ("45441000", "45421130", "45421100"),
        ),
    )),
    Trade("recruitment agency", (20, 120), ("ISO 9001", "Cyber Essentials"), (
        Business(
            "Commonwork Recruitment", "Bristol",
            "We place temporary and permanent staff in councils, schools and care services, "
            "and run employment pathways for local jobseekers.",
            ("temporary staffing", "permanent recruitment", "social care recruitment",
             "employment pathways"),
            ("79620000", "79610000", "79600000"),
        ),
    )),
    Trade("management consultancy", (20, 120), ("ISO 9001", "Cyber Essentials"), (
        Business(
            "Kingsdown Consulting", "Bristol",
            "We help councils and NHS teams redesign services, write business cases and manage "
            "change projects, working alongside in-house staff.",
            ("service redesign", "business cases", "change management", "project management",
             "bid writing"),
            ("79411000", "79410000", "72224000"),
        ),
    ), SOLO),
    Trade("community bakery", (10, 40), ("SALSA",), (
        Business(
            "Slow Rise Community Bakery", "Hartcliffe",
            "A community bakery training local young people while supplying bread and baking "
            "to schools, cafes and care homes in south Bristol.",
            ("wholesale bread", "school bakery supply", "cakes and pastries",
             "baking apprenticeships"),
            ("15811000", "15810000", "15612500"),
        ),
    ), SOLO),
    Trade("data and analytics consultancy", (20, 120), ("Cyber Essentials Plus", "ISO 27001"), (
        Business(
            "Tessellate Data", "Bristol",
            "We build dashboards and analyse survey and service data for councils and health "
            "partners, and help them publish open data safely.",
            ("data analysis", "dashboards and reporting", "survey design", "open data publishing"),
            ("72316000", "72320000", "79311000"),
        ),
    ), SOLO),
    Trade("audio-visual installer", (20, 100), ("CHAS", "SafeContractor"), (
        Business(
            "Soundpost AV", "Winscombe",
            "We install hearing loops, council-chamber webcasting and meeting-room displays for "
            "town halls, churches and schools.",
            ("hearing loops", "council chamber webcasting", "meeting room technology",
             "public address systems"),
            ("51310000", "32321200", "32342410", "50340000"),
        ),
    )),
)


# name, town, employees, service radius (km), summary, description
BUYERS = (
    ("Avonmere District Council", "Keynsham", 1450, 30,
     "District council buying building, grounds, IT and social care services for the towns "
     "and villages between Bristol and Bath.",
     "Avonmere District Council serves around 120,000 residents. We publish every opportunity "
     "over £30,000 and welcome bids from local consortia.\n\n"
     "Regular needs include:\n\n- Repairs and maintenance of council buildings\n"
     "- Parks, verges and cemetery grounds care\n- IT support for libraries and offices\n\n"
     "Our social value policy gives weight to local employment, apprenticeships and carbon "
     "reduction."),
    ("West Vale Housing Partnership", "Weston-super-Mare", 620, 45,
     "Not-for-profit landlord managing homes across North Somerset and Sedgemoor, buying "
     "repairs, adaptations and estate services.",
     "West Vale Housing Partnership owns and manages around 9,000 homes. We buy responsive "
     "repairs, void works, adaptations, grounds maintenance and cleaning of communal areas.\n\n"
     "We split large contracts into local lots so that small firms and alliances can bid."),
    ("Severn Community NHS Trust", "Southmead", 2300, 40,
     "Community health trust running clinics, district nursing and mental health services "
     "across Bristol and South Gloucestershire.",
     "Severn Community NHS Trust runs community clinics, district nursing teams and mental "
     "health services from 30 sites.\n\n"
     "We buy facilities services, courier and transport, interpreting, training and digital "
     "services, and expect suppliers to meet NHS data security standards."),
    ("Kingsbrook Academy Trust", "Yate", 880, 25,
     "Multi-academy trust of primary and secondary schools in South Gloucestershire, buying "
     "catering, cleaning, building works and IT.",
     "Kingsbrook Academy Trust runs fourteen schools. We procure catering, cleaning, minor "
     "building works over the summer holidays, and IT support centrally for all of them.\n\n"
     "We prefer suppliers who can work safely on school sites and hold the relevant checks."),
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


def _local_part(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "", text.lower())


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(SURNAMES)


def _jitter(rng: random.Random, town: Town) -> tuple[float, float]:
    # Spread businesses around the town centre so map pins do not sit on top of each other.
    distance_km = rng.uniform(0.2, 1.8)
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance_km * math.cos(bearing) / 111.32
    dlon = distance_km * math.sin(bearing) / (111.32 * math.cos(math.radians(town.lat)))
    return round(town.lat + dlat, 4), round(town.lon + dlon, 4)


def _postcode(rng: random.Random, town: Town) -> str:
    unit = "".join(rng.choice(UNIT_LETTERS) for _ in range(2))
    return f"{town.postcode_district} {rng.randint(1, 9)}{unit}"


def _certificate(rng: random.Random, name: str) -> dict:
    issuer, pattern = CERTIFICATIONS[name]
    number = re.sub("#", lambda _: str(rng.randint(0, 9)), pattern)
    # Roughly one in ten has lapsed, so the UI has expired certificates to flag.
    days = -rng.randint(10, 240) if rng.random() < 0.1 else rng.randint(30, 1095)
    valid_until = REFERENCE_DATE + dt.timedelta(days=days)
    return {
        "name": name, "issuer": issuer, "number": number, "valid_until": valid_until.isoformat(),
    }


class _Phones:
    """Hands out unique fictional numbers from Ofcom's ranges reserved for drama."""

    def __init__(self, rng: random.Random) -> None:
        self._bristol = iter(rng.sample(range(1000), 1000))
        self._elsewhere = iter(rng.sample(range(1000), 1000))

    def next_for(self, town: Town) -> str:
        # Only Bristol has a drama range of its own; 01632 is fictional with no real area.
        if town.postcode_district in BRISTOL_DIALLING:
            return f"0117 496 0{next(self._bristol):03d}"
        return f"01632 960{next(self._elsewhere):03d}"


def _base(rng: random.Random, phones: _Phones, name: str, town_name: str, contact_box: str,
          owner_is_contact: bool) -> dict:
    town = find_town(town_name)
    if town is None:
        raise ValueError(f"{town_name!r} is not in the gazetteer")
    key = _slug(name)
    domain = f"{key}.example"
    first, last = _person(rng)
    owner_first, owner_last = (first, last) if owner_is_contact else _person(rng)
    lat, lon = _jitter(rng, town)
    return {
        "key": key,
        "name": name,
        "website": f"https://{domain}",
        "contact_name": f"{first} {last}",
        "contact_email": f"{_local_part(contact_box or first)}@{domain}",
        "phone": phones.next_for(town),
        "town": town.name,
        "postcode": _postcode(rng, town),
        "region": REGION,
        "lat": lat,
        "lon": lon,
        "owner": {
            "display_name": f"{owner_first} {owner_last}",
            "email": f"{_local_part(owner_first)}.{_local_part(owner_last)}@{domain}",
        },
    }


def _business(rng: random.Random, phones: _Phones, trade: Trade, biz: Business) -> dict:
    size = rng.choices(("micro", "small", "medium"), weights=trade.size_weights)[0]
    employees = rng.randint(*EMPLOYEES[size])
    year_founded = round(rng.triangular(1965, 2024, 2014))
    radius = 5 * round(rng.randint(*trade.radius_km) / 5)
    cert_names = rng.sample(trade.certifications, rng.randint(0, min(3, len(trade.certifications))))
    contact_box = rng.choice(("hello", "info", "tenders", ""))
    record = _base(rng, phones, biz.name, biz.town, contact_box, owner_is_contact=size == "micro")
    caps = biz.capabilities
    bullets = "\n".join(f"- {c[0].upper()}{c[1:]}" for c in caps)
    lead_in = rng.choice(("Typical work includes:", "What we are asked for most:",
                          "Recent contracts have covered:"))
    noun = trade.noun[0].upper() + trade.noun[1:]
    record.update(
        summary=f"{noun} in {record['town']}: {caps[0]}, {caps[1]} and {caps[2]}.",
        description=(
            f"{biz.pitch}\n\n{lead_in}\n\n{bullets}\n\n"
            f"Founded in {year_founded}, we are a team of {employees} based in "
            f"{record['town']} and take on work up to {radius} km away."
        ),
        capabilities=list(caps),
        cpv_codes=list(biz.cpv_codes),
        size=size,
        employees=employees,
        year_founded=year_founded,
        service_radius_km=radius,
        certifications=[_certificate(rng, c) for c in cert_names],
    )
    return {k: record[k] for k in KEYS}


def _generate() -> tuple[list[dict], list[dict]]:
    rng = random.Random(SEED)
    phones = _Phones(rng)
    businesses = [
        _business(rng, phones, trade, biz) for trade in TRADES for biz in trade.businesses
    ]
    buyers = []
    for name, town, employees, radius, summary, description in BUYERS:
        record = _base(rng, phones, name, town, "procurement", owner_is_contact=False)
        record.update(
            summary=summary, description=description, capabilities=[], cpv_codes=[],
            size="large", employees=employees, year_founded=rng.randint(1996, 2015),
            service_radius_km=radius, certifications=[],
        )
        buyers.append({k: record[k] for k in KEYS})
    return businesses, buyers


def demo_businesses() -> list[dict]:
    """Fictional small suppliers; the same list on every call."""
    return _generate()[0]


def demo_buyers() -> list[dict]:
    """Fictional local public buyers, generated alongside the businesses so phones stay unique."""
    return _generate()[1]
