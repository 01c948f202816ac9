"""Validates OCSF events (JSON lines, as `support-access audit export --format ocsf`
writes them) against the OCSF JSON schema of each event's class.

`ocsf-validator` from PyPI checks an OCSF *schema repository* (its dictionary, objects
and classes), not events, so the events are checked here with the JSON schemas that
`ocsf-json-schema` generates offline from the OCSF schema versions it ships.

usage: python validate.py EXPORT.jsonl
"""

import collections
import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema


def main(path):
    schemas = {}
    counts = collections.Counter()
    failures = 0
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            event = json.loads(line)
            version = event["metadata"]["version"]
            class_uid = event["class_uid"]
            key = (version, class_uid)
            if key not in schemas:
                ocsf = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
                name = ocsf.lookup_class_name_from_uid(class_uid=class_uid)
                schema = ocsf.get_class_schema(class_name=name, profiles=[])
                validator = jsonschema.validators.validator_for(schema)
                validator.check_schema(schema)
                schemas[key] = (name, validator(schema))
            name, validator = schemas[key]
            errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
            for error in errors:
                failures += 1
                where = "/".join(str(p) for p in error.path) or "(event)"
                print(f"line {number}: {name} ({class_uid}) {where}: {error.message}")
            counts[f"{class_uid} {name}"] += 1
    for cls, n in sorted(counts.items()):
        print(f"{n:5} events of class {cls}")
    if not counts:
        print("no events to validate")
        return 1
    print(f"{sum(counts.values())} OCSF events, {failures} schema violations")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
