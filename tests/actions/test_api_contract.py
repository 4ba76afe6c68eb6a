"""The assistant's side of the dossier API's contract, checked against the committed schema
(api/openapi.json) without starting anything: what the client reads exists, and the bodies
the action tests fake are answers the API can give (tests/actions/contract.py)."""

import ast
import inspect
import textwrap

from assistant.actions import api_client
from tests.actions.contract import assert_dossier_public, component, response_schema
from tests.actions.test_api_client import BODY


def keys_read(function: object, name: str) -> tuple[set[str], set[str]]:
    """The string keys a function reads from `name`: as `name["key"]` (the field must be there)
    and as `name.get("key")` (it may be absent)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    required, optional = set(), set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == name
            and isinstance(node.slice, ast.Constant)
        ):
            required.add(node.slice.value)
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == f"{name}.get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            optional.add(node.args[0].value)
    return required, optional


def test_every_field_the_client_reads_of_a_dossier_is_in_the_schema() -> None:
    schema = component("DossierPublic")
    required, optional = keys_read(api_client.DossierStatus.from_json, "body")
    assert required and optional, "the reads were found"
    unknown = sorted((required | optional) - set(schema["properties"]))
    assert not unknown, f"read by the client but not in DossierPublic: {unknown}"
    assert required <= set(schema["required"]), "read with [] but the API may leave it out"


def test_the_code_of_a_saved_checklist_is_in_the_schema() -> None:
    required, _ = keys_read(api_client.DossierApiClient.save_checklist, "response.json()")
    assert required == {"code"}
    saved = response_schema("post", "/v1/checklists", 201)
    assert saved == {"$ref": "#/components/schemas/ChecklistOut"}
    assert required <= set(component("ChecklistOut")["required"])


def test_the_faked_lookup_answer_is_one_the_api_gives() -> None:
    assert_dossier_public(BODY)
    assert response_schema("post", "/v1/dossiers/lookup", 200) == {
        "$ref": "#/components/schemas/DossierPublic"
    }
