"""The gazetteer on hand-written FAP-style notes (written for this test, not generated).

Each note lists the places a careful reader would geocode it to (names as in the
gazetteer; empty = the note names no mappable place). Precision and recall are computed
over (note, place) pairs and must stay above floors; the figures are printed with ``-s``.
"""

from __future__ import annotations

import pytest

from geosafe.geocode.places import Gazetteer, canonical

NOTES: list[tuple[str, set[str]]] = [
    # streets with abbreviations and misspellings
    ("Got jumped outside the chicken shop on Bounds Grn Rd.", {"Bounds Green Road"}),
    ("Phone taken off him on Bowes Rd by two older lads", {"Bowes Road"}),
    ("Reports being followed along Myddleton Rd after school", {"Myddleton Road"}),
    ("Group congregates by the shops on Green Lanes most evenings", {"Green Lanes"}),
    ("Mum says he was chased down Nightingale Raod", {"Nightingale Road"}),
    ("Incident on Colney Hatch Ln near the bus stop", {"Colney Hatch Lane"}),
    ("Seen with older boys at the corner of Durnsford Rd", {"Durnsford Road"}),
    ("Was threatened on Brownlow Road on the way home from school", {"Brownlow Road"}),
    # "the Mall" is Wood Green Shopping City (The Mall Wood Green)
    (
        "Fight broke out on Wood Green High Rd near the Mall",
        {"Wood Green High Road", "Wood Green Shopping City"},
    ),
    ("Carrying a knife on Palmerston Rd according to a neighbour", {"Palmerston Road"}),
    ("lives on whittington road, no concerns at home", {"Whittington Road"}),
    ("Robbed of his bike on Truro Rd", {"Truro Road"}),
    (
        "Hangs about on Alderman's Hill with the Palmers Green lot",
        {"Aldermans Hill", "Palmers Green"},
    ),
    ("Assaulted in Springfeild Road by a boy from another school", {"Springfield Road"}),
    # parks and generic words
    ("Drinking in Grovelands Park at weekends", {"Grovelands Park"}),
    ("Found by police at Grovelands Prk late at night", {"Grovelands Park"}),
    ("Goes up Ally Pally with friends, concerns about older males", {"Ally Pally"}),
    ("Was at Alexandra Pallace when the fight started", {"Alexandra Palace"}),
    ("Says she spends time in Broomfield Park after school", {"Broomfield Park"}),
    ("Sexual assault disclosed, happened in the park", set()),
    ("Spends lunchtimes near the park with year 11s", set()),
    # stations, stops, landmarks
    ("Robbed outside Wood Green Stn", {"Wood Green Station"}),
    ("Regularly at Bounds Green station after 4pm", {"Bounds Green Station"}),
    ("Was pushed off the bus at Arnos Grove stn", {"Arnos Grove Station"}),
    ("Hangs around Wood Green Shopping City with older boys", {"Wood Green Shopping City"}),
    ("Hangs around the shopping city on Saturdays", set()),
    ("Caught shoplifting at Southgate Asda", {"Southgate Asda"}),
    (
        "Incident outside the ice rink at Alexandra Palace",
        {"Alexandra Palace Ice Rink", "Alexandra Palace"},
    ),
    ("Met them at the Triangle in Palmers Green", {"The Triangle", "Palmers Green"}),
    ("Waiting at the bus stop by New Southgate Station", {"New Southgate Stn"}),
    # schools
    ("Fight at the gates of St Thomas Moore", {"St Thomas More"}),
    ("Excluded from Ashmole Academy in year 9", {"Ashmole Academy"}),
    ("Threats made outside Alexandra Park School at home time", {"Alexandra Park School"}),
    ("Fell out with girls from St Anne's", {"St Annes"}),
    ("Followed home from Heartlands High by a group", {"Heartlands"}),
    # negations
    ("Not at the park, was at Grovelands Prk all evening", {"Grovelands Park"}),
    ("Says he never went near Wood Green station that day", set()),
    ("Denies being on Bowes Rd at the time", set()),
    ("Did not go to Ally Pally, stayed at a friend's on Truro Rd", {"Truro Road"}),
    ("Avoids Green Lanes because of the older boys", set()),
    ("Never goes near Grovelands Park or Bounds Green Road any more", set()),
    ("Went to Southgate Asda instead of Wood Green Shopping City", {"Southgate Asda"}),
    ("She wasn't at Bounds Green station but at Arnos Grove station", {"Arnos Grove Station"}),
    # places not in the gazetteer / nothing to map
    ("Known to hang around Tottenham Hale retail park", set()),
    ("Concerns raised by school nurse about weight loss", set()),
    ("Incident at the chicken shop near home", set()),
    ("Goes to Finsbury Park to meet older males", set()),
    ("Attends a youth club in Edmonton Green", set()),
    ("Older brother known to police, mum struggling", set()),
    ("Spent the night at a friend's house in Enfield Town", set()),
    ("Rise in missing episodes since Christmas", set()),
    ("Online bullying on Snapchat, no location", set()),
    # harder ones
    ("Chased from Bounds Green tube to Durnsford", {"Bounds Green Station", "Durnsford Road"}),
    ("Hangs out at Woodgreen station after dark", {"Wood Green Station"}),
    ("Outside McDonalds on the High Rd in Wood Green", {"Wood Green High Road"}),
    ("Assaulted near Arnos pool", {"Arnos Grove Swimming Pool"}),
    ("Victim of robbery on Bounds Green Rd, not at school", {"Bounds Green Road"}),
    ("Seen on the 221 bus near Turnpike Lane", set()),
    ("Went to Alexandra Park with a man she met online", {"Alexandra Palace"}),
    ("On the W3 between Alexandra Palace and Wood Green", {"Alexandra Palace", "Wood Green"}),
    ("Grooming concerns around Bowes Park station", set()),
    ("Threatened with a blade on Gt Cambridge Rd", {"Great Cambridge Road"}),
    ("Mum reports she was not home, was out on Station Rd", {"Station Road"}),
    ("No one saw it happen on Pymmes Rd", {"Pymmes Road"}),
]


@pytest.fixture(scope="module")
def gaz(data_dir) -> Gazetteer:
    return Gazetteer.load(data_dir)


def _point_key(gaz: Gazetteer, name: str):
    places = gaz._index.get(canonical(name))
    assert places and len(places) == 1, f"expected name {name!r} is not one gazetteer place"
    p = places[0]
    return (round(p.point.x), round(p.point.y))


def test_hand_written_notes_precision_recall(gaz):
    assert len(NOTES) >= 40
    tp = fp = fn = 0
    misses = []
    for text, expected in NOTES:
        want = {_point_key(gaz, n) for n in expected}
        got = {(round(m.place.point.x), round(m.place.point.y)) for m in gaz.places_in(text)}
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
        if got != want:
            misses.append((text, [m.text for m in gaz.places_in(text)], sorted(expected)))
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(f"\ngazetteer on {len(NOTES)} notes: precision {precision:.3f}, recall {recall:.3f}")
    print(f"tp={tp} fp={fp} fn={fn}; differences: {misses}")
    assert precision >= 0.9
    assert recall >= 0.75


def test_unmapped_notes_stay_unmapped(geocoder):
    empty = [t for t, e in NOTES if not e]
    got = [geocoder.from_notes(t) for t in empty]
    unmapped = sum(r.method == "none" for r in got)
    assert unmapped / len(empty) >= 0.9
    assert all(r.ok for r in got)


def test_from_notes_result(geocoder):
    r = geocoder.from_notes("got jumped outside the chicken shop on Bounds Grn Rd")
    assert r.method == "street" and r.place == "Bounds Green Road"
    assert r.matched_text == "Bounds Grn Rd"
    assert r.precision_m >= 300
    park = geocoder.from_notes("drinking in Grovelands Park")
    assert park.method == "place"
    # precision is the park's equivalent radius (Grovelands is ~48 ha: ~390 m)
    assert 350 < park.precision_m < 420
    assert geocoder.from_notes("not at the park").method == "none"
    assert geocoder.from_notes("").method == "none"


def test_negation_scope(gaz):
    hits = gaz.find("Not at Bowes Rd. Was robbed on Truro Rd")
    assert [(m.place.name, m.negated) for m in hits] == [
        ("Bowes Road", True),
        ("Truro Road", False),
    ]


def test_station_field(geocoder):
    assert geocoder.from_station("Wood Green").place == "Wood Green Station"
    assert geocoder.from_station("bounds grn stn").place == "Bounds Green Station"
    assert geocoder.from_station("Kings Cross").method == "none"


def test_generic_words_need_context(gaz, geocoder, data_dir):
    import geopandas as gpd

    parks = gpd.read_file(data_dir / "parks" / "parks.gpkg").to_crs(27700)
    grovelands = parks[parks["name"] == "GROVELANDS PARK"].geometry.iloc[0]
    # ambiguous on its own
    assert gaz.places_in("fight in the park") == []
    # settled by another mention in the same note
    hits = gaz.places_in("Drinks in Grovelands at weekends; the fight was in the park")
    assert all(grovelands.buffer(1).contains(m.place.point) for m in hits) and len(hits) == 2
    # settled by a nearby anchor (a school 300 m from Grovelands' centre), not by a far one
    near = grovelands.representative_point().buffer(300).exterior.interpolate(0)
    r = geocoder.from_notes("fight in the park", near=near)
    assert r.method == "place" and grovelands.buffer(1).contains(r.geometry)
    far = grovelands.representative_point().buffer(5000).exterior.interpolate(0)
    assert geocoder.from_notes("fight in the park", near=far).method == "none"
