"""Deterministic demo alliances and confirmed joint projects among the demo businesses.

Keys are ``demo_businesses()`` keys. In each alliance the first member is its lead (and any
listed in ``"leads"`` too). Projects name their owner first; every partner confirmed unless
listed in ``PENDING_CREDITS``.
"""

ALLIANCES = [
    {
        "name": "Bath Heritage Repair Alliance",
        "summary": "Stone, lime, joinery, roofing and decoration for listed and historic "
                   "buildings in and around Bath.",
        "description": "We repair historic buildings as one team: a conservation architect "
                       "leads the survey, and masons, joiners, roofers and decorators who "
                       "have worked side by side for years do the work.\n\n"
                       "- Listed building consent and schedules of work\n"
                       "- Lime mortars, stone repair and replacement\n"
                       "- Sash windows, panelled doors, lead and slate",
        "service_area": "Bath, North East Somerset and West Wiltshire",
        "members": ["lansdown-stone-and-restoration", "marlow-yeo-architects",
                    "barnhouse-joinery", "bathwick-painters", "selwood-roofing"],
        "leads": ["marlow-yeo-architects"],
    },
    {
        "name": "Bristol Schools Refurb Group",
        "summary": "Summer-holiday refurbishments of schools, delivered by one builder-led team.",
        "description": "Classrooms, halls and toilets refurbished between the last day of "
                       "term and the first. One programme, one site manager, every trade "
                       "DBS-checked.",
        "service_area": "Bristol, South Gloucestershire and North Somerset",
        "members": ["harbourside-build-co", "brightwire-electrical", "treadwell-flooring",
                    "hollis-and-daughter-decorators", "firebreak-protection-services"],
    },
    {
        "name": "West of England Retrofit Collective",
        "summary": "Whole-house and public-building retrofit: survey, heat pumps, solar and "
                   "plumbing from one team.",
        "description": "We take buildings from assessment to net zero: surveys and carbon "
                       "plans, insulation specification, heat pumps, solar and batteries.",
        "service_area": "West of England",
        "members": ["sunfield-renewables", "wansdyke-plumbing-services",
                    "levels-solar-co-operative", "alder-and-tuck-chartered-surveyors",
                    "blue-lias-environmental"],
    },
    {
        "name": "Green Spaces Partnership",
        "summary": "Landscaping, grounds care, tree work and ecology for parks, schools and "
                   "housing estates.",
        "description": "Ecologists and landscapers planning and doing the work together, "
                       "with biodiversity net gain measured before and after.",
        "service_area": "North Somerset, Bristol and the Mendips",
        "members": ["greenhollow-landscapes", "avon-meadow-grounds-care", "heartwood-tree-care",
                    "nightjar-ecology", "hazel-dormouse-ecology"],
    },
    {
        "name": "Avon Digital Services Co-op",
        "summary": "User research, service design, software and IT support for councils and "
                   "charities.",
        "description": "Small digital firms delivering public services together: discovery "
                       "to live service, with the support contract to keep it running.",
        "service_area": "Remote, with on-site work across the South West",
        "members": ["quaywise-digital", "ferryboat-software", "leafline-web-studio",
                    "cabot-circuit-it"],
        "leads": ["ferryboat-software"],
    },
    {
        "name": "Civic Events South West",
        "summary": "Civic events and festivals: production, catering, signage and "
                   "photography.",
        "description": "From mayor-making to city festivals: one contract covering "
                       "production, safety, food, wayfinding and the photographs afterwards.",
        "service_area": "Bristol and Bath",
        "members": ["crescent-and-co-events", "harbour-lantern-events", "pomona-kitchen",
                    "avon-lens-photography", "signal-post-signs"],
    },
    {
        "name": "Safe Buildings Compliance Alliance",
        "summary": "Fire doors, fire stopping, asbestos and lifts: compliance works in "
                   "occupied buildings.",
        "description": "Surveys and remedial works under one programme, so that a building "
                       "owner gets one plan and one set of records.",
        "service_area": "Gloucestershire, Bristol and Somerset",
        "members": ["ember-guard-fire-safety", "fibrecheck-asbestos-services",
                    "mendip-asbestos-surveys", "stairline-lift-services", "quantock-joinery"],
    },
    {
        "name": "Home Adaptations Network",
        "summary": "Accessible adaptations so that people can stay in their homes: "
                   "builders, lifts, wet rooms and care.",
        "description": "Occupational-therapy-led adaptations delivered quickly: ramps, "
                       "stairlifts, wet rooms and the care support around the works.",
        "service_area": "Bath and North East Somerset, Mendip",
        "members": ["mendip-vale-builders", "downland-lift-and-access",
                    "wansdyke-plumbing-services", "homeward-care-partners"],
    },
    {
        "name": "Severn EV Charging Partners",
        "summary": "Electric vehicle charging from grid connection to civils and "
                   "installation.",
        "description": "Depot, car park and on-street charging. Design, civils, installation "
                       "and load management by one team.",
        "service_area": "Wiltshire, Bristol and Somerset",
        "members": ["plug-in-severn", "ampway-ev-installations", "cotswold-edge-electrical",
                    "axe-valley-civils"],
    },
]

# (alliance index or None, owner key, owner role, title, year, client, value, place,
#  description, [(partner key, role), ...])
PROJECTS = [
    (0, "lansdown-stone-and-restoration", "Stone repair", "Guildhall east front repairs",
     2024, "Bath & North East Somerset Council", 186_000, "Bath",
     "Survey and repair of the Guildhall's east elevation: indents, lime repointing, "
     "sash repairs and redecoration, all under listed building consent.",
     [("marlow-yeo-architects", "Conservation architect"), ("barnhouse-joinery", "Sash repairs"),
      ("bathwick-painters", "Redecoration")]),
    (0, "selwood-roofing", "Roofing", "Chapel roof and lead renewal", 2023,
     "Frome Town Council", 94_000, "Frome",
     "Stripped and relaid the Welsh slate roof and renewed lead gutters of a Grade II chapel.",
     [("lansdown-stone-and-restoration", "Parapet masonry"),
      ("marlow-yeo-architects", "Contract administration")]),
    (0, "barnhouse-joinery", "Joinery", "Georgian terrace window programme", 2022,
     "Curo Group", 240_000, "Bath",
     "Repair rather than replacement of 140 sash windows across a listed terrace.",
     [("bathwick-painters", "Exterior painting"), ("selwood-roofing", "Dormer leadwork")]),
    (1, "harbourside-build-co", "Main contractor", "Summer refurbishment, St Anne's Primary",
     2024, "Bristol City Council", 420_000, "Bristol",
     "Six classrooms and the hall refurbished in five weeks of the summer holiday.",
     [("brightwire-electrical", "Electrical"), ("treadwell-flooring", "Flooring"),
      ("hollis-and-daughter-decorators", "Decoration")]),
    (1, "harbourside-build-co", "Main contractor", "Toilet block renewal, Fishponds Academy",
     2023, "Fishponds Academy Trust", 160_000, "Bristol",
     "New pupil toilets with fire-rated partitions and accessible cubicles.",
     [("firebreak-protection-services", "Fire alarm upgrade"),
      ("treadwell-flooring", "Safety flooring")]),
    (1, "brightwire-electrical", "Electrical", "LED lighting and fire alarm, Kingswood school",
     2022, "South Gloucestershire Council", 88_000, "Kingswood",
     "LED relighting of 22 classrooms with a new addressable fire alarm.",
     [("firebreak-protection-services", "Fire alarm installation"),
      ("hollis-and-daughter-decorators", "Making good")]),
    (2, "sunfield-renewables", "Heat pumps and solar", "Village hall net-zero retrofit", 2024,
     "Corsham Community Trust", 132_000, "Corsham",
     "Air source heat pump, 18 kWp of solar and a battery for a 1930s village hall.",
     [("wansdyke-plumbing-services", "Heating distribution"),
      ("alder-and-tuck-chartered-surveyors", "Retrofit assessment")]),
    (2, "levels-solar-co-operative", "Community energy", "Community solar on six schools", 2023,
     "Somerset Council", 310_000, "Street",
     "Roof-mounted solar on six schools, financed by a community share offer.",
     [("sunfield-renewables", "Installation"), ("blue-lias-environmental", "Carbon reporting")]),
    (2, "alder-and-tuck-chartered-surveyors", "Retrofit coordinator",
     "Almshouse retrofit plan and works", 2022, "St John's Foundation", 75_000, "Bath",
     "Fabric-first retrofit of twelve almshouses with heat pumps.",
     [("wansdyke-plumbing-services", "Heat pump installation"),
      ("blue-lias-environmental", "Net zero plan")]),
    (3, "greenhollow-landscapes", "Landscaping", "Outdoor classroom and wildflower meadow",
     2024, "Nailsea School", 58_000, "Nailsea",
     "An oak outdoor classroom, a pond and a wildflower meadow for a secondary school.",
     [("avon-meadow-grounds-care", "Meadow creation"), ("nightjar-ecology", "Ecology survey")]),
    (3, "heartwood-tree-care", "Tree work", "Ash dieback programme, Ashton Court", 2023,
     "Bristol City Council", 140_000, "Long Ashton",
     "Survey-led felling and replanting along public paths, outside the nesting season.",
     [("hazel-dormouse-ecology", "Ecological clerk of works"),
      ("greenhollow-landscapes", "Replanting")]),
    (3, "avon-meadow-grounds-care", "Grounds maintenance", "Biodiversity net gain on estates",
     2022, "Alliance Homes", 66_000, "Portishead",
     "Changed mowing regimes and new hedgerows across four housing estates.",
     [("nightjar-ecology", "Baseline and monitoring"),
      ("hazel-dormouse-ecology", "Hedgerow surveys")]),
    (4, "quaywise-digital", "Service design", "Online school admissions service", 2024,
     "North Somerset Council", 210_000, "Weston-super-Mare",
     "Discovery to live: a new online admissions service with 40% fewer calls.",
     [("ferryboat-software", "Software development"),
      ("leafline-web-studio", "Accessible content")]),
    (4, "ferryboat-software", "Software development", "Grant application portal", 2023,
     "Quartet Community Foundation", 95_000, "Bristol",
     "A grant portal with eligibility checks, scoring and payments.",
     [("quaywise-digital", "User research"), ("cabot-circuit-it", "Hosting and support")]),
    (4, "cabot-circuit-it", "Managed IT", "Charity IT migration and website", 2022,
     "Bristol Refugee Rights", 38_000, "Bristol",
     "Moved a charity's email and files to the cloud and rebuilt its website.",
     [("leafline-web-studio", "Website")]),
    (5, "crescent-and-co-events", "Event management", "Mayor-making ceremony and reception",
     2024, "Bath & North East Somerset Council", 42_000, "Bath",
     "Ceremony, reception for 300 guests, signage and photography.",
     [("pomona-kitchen", "Catering"), ("avon-lens-photography", "Photography"),
      ("signal-post-signs", "Wayfinding")]),
    (5, "harbour-lantern-events", "Festival production", "Harbour Festival family zone", 2023,
     "Bristol City Council", 120_000, "Bristol",
     "Production and safety management of the family zone over three days.",
     [("crescent-and-co-events", "Stewarding"), ("pomona-kitchen", "Food stalls"),
      ("signal-post-signs", "Site signage")]),
    (5, "pomona-kitchen", "Catering", "Regional business awards dinner", 2022,
     "West of England Combined Authority", 36_000, "Bristol",
     "A local-sourced dinner for 450 with event management and photography.",
     [("crescent-and-co-events", "Event management"), ("avon-lens-photography", "Photography")]),
    (6, "ember-guard-fire-safety", "Fire safety lead", "Fire door and compartmentation programme",
     2024, "Cheltenham Borough Homes", 380_000, "Cheltenham",
     "Surveyed and replaced 600 flat entrance doors and sealed compartment breaches.",
     [("quantock-joinery", "Fire door installation"),
      ("mendip-asbestos-surveys", "Refurbishment surveys")]),
    (6, "fibrecheck-asbestos-services", "Asbestos removal", "Tower block asbestos removal",
     2023, "Bristol City Council", 260_000, "Bristol",
     "Licensed removal before a lift replacement, with air monitoring throughout.",
     [("mendip-asbestos-surveys", "Surveys and air monitoring"),
      ("stairline-lift-services", "Lift replacement")]),
    (6, "stairline-lift-services", "Lifts", "Sheltered housing lift modernisation", 2022,
     "Somerset Council", 145_000, "Taunton",
     "Two passenger lifts modernised in occupied sheltered housing.",
     [("ember-guard-fire-safety", "Fire stopping")]),
    (7, "mendip-vale-builders", "Builder", "Adapted bungalow for a wheelchair user", 2024,
     "Bath & North East Somerset Council", 48_000, "Midsomer Norton",
     "Widened doors, ramped access, a wet room and a through-floor lift.",
     [("downland-lift-and-access", "Through-floor lift"),
      ("wansdyke-plumbing-services", "Wet room")]),
    (7, "wansdyke-plumbing-services", "Plumbing", "Twenty wet-room adaptations", 2023,
     "Curo Group", 160_000, "Keynsham",
     "A year-long programme of wet rooms, each finished within ten working days.",
     [("mendip-vale-builders", "Building works"),
      ("homeward-care-partners", "Care support during works")]),
    (8, "plug-in-severn", "Charging design", "Council depot charging hub", 2024,
     "Wiltshire Council", 290_000, "Trowbridge",
     "Forty depot chargers with load management for the council's van fleet.",
     [("ampway-ev-installations", "Installation"), ("axe-valley-civils", "Civils and ducting")]),
    (8, "ampway-ev-installations", "Installation", "Park-and-ride charging", 2023,
     "Bath & North East Somerset Council", 175_000, "Bath",
     "Twenty-four fast chargers at two park-and-ride sites.",
     [("cotswold-edge-electrical", "Electrical supply"),
      ("axe-valley-civils", "Groundworks")]),
    (None, "kite-and-fennel-architects", "Architect", "Community centre change of use", 2023,
     "Bedminster Community Trust", 310_000, "Bristol",
     "A former bank turned into a community centre with a café and hall.",
     [("harbourside-build-co", "Main contractor"), ("brightwire-electrical", "Electrical")]),
]

# (owner key, project title, partner key): credits left pending, so the demo has some to
# confirm. A project whose only partner is pending is not public.
PENDING_CREDITS = [
    ("harbourside-build-co", "Summer refurbishment, St Anne's Primary",
     "hollis-and-daughter-decorators"),
    ("quaywise-digital", "Online school admissions service", "leafline-web-studio"),
]
EXTRA_PENDING_PROJECTS = [
    ("brightwire-electrical", "Electrical", "Library rewire and emergency lighting", 2024,
     "Bristol City Council", 64_000, "Bristol",
     "Full rewire of a branch library with emergency lighting, done while it stayed open.",
     [("harbourside-build-co", "Builder's work")]),
]

# (alliance index, invited organisation key): pending invitations.
PENDING_INVITATIONS = [
    (6, "harbourside-build-co"),
    (0, "channel-view-roofing"),
    (3, "canopy-and-crown-arboriculture"),
    (4, "pixel-and-pier"),
]
