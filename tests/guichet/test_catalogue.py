from dataclasses import FrozenInstanceError

import pytest
import yaml

from guichet.catalogue import DEFAULT_PATH, get_catalogue, parse


def test_the_catalogue_holds_every_kind_of_thing() -> None:
    catalogue = get_catalogue()
    assert len(catalogue.procedures) == 18
    assert catalogue.statuses["en_instruction"].usual_days == 30
    assert catalogue.statuses["expedie"].usual_days is None
    assert "ants_telephone" in catalogue.help_channels
    assert catalogue.procedures["permis_perte"].label == "nouveau permis après une perte"
    assert "timbre_fiscal" in catalogue.procedures["permis_perte"].documents


def test_its_entries_cannot_be_changed() -> None:
    with pytest.raises(FrozenInstanceError):
        get_catalogue().procedures["permis_perte"].label = "autre"  # type: ignore[misc]


def test_a_reference_to_an_unknown_document_is_refused() -> None:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["procedures"][0]["documents"].append({"document": "piece_inconnue"})
    with pytest.raises(ValueError, match="piece_inconnue"):
        parse(data)
