"""Long full-text queries cut to their rarest terms (`drafting.retrieval.query_terms`)."""

from drafting.retrieval.query_terms import TermStats

DOCS = [
    "The patient presented with pain in the left knee.",
    "The patient had a fever and pain.",
    "The patient reported headaches for months.",
    "Meningioma with a dural tail, the patient was stable.",
]


def test_document_frequencies_are_counted_once_per_document_on_stems():
    stats = TermStats.from_texts(DOCS + ["Headache headaches HEADACHE"])
    assert stats.docs == 5
    assert stats.df["patient"] == 4
    assert stats.df["headach"] == 2  # stemmed and lower-cased like the engine's index


def test_prune_keeps_every_occurrence_of_the_rarest_terms_in_order():
    stats = TermStats.from_texts(DOCS)
    query = "Patient with knee pain; the knee is swollen, patient afebrile."
    # swollen and afebrile are in no document, knee in one, pain in two: the rarest three.
    assert stats.prune(query, 3) == "knee knee swollen afebrile"
    assert stats.prune(query, 4) == "knee pain knee swollen afebrile"


def test_prune_leaves_short_queries_alone():
    stats = TermStats.from_texts(DOCS)
    query = "Knee pain, patient (left)."
    assert stats.prune(query, 4) == query
    assert stats.prune(query, 100) == query


def test_without_counted_documents_nothing_is_pruned():
    query = "one two three four five six"
    assert TermStats({}, 0).prune(query, 2) == query
