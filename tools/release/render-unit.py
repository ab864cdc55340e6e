#!/usr/bin/env python3
"""Renders the Ansible roles' systemd unit template (ansible/roles/common/templates/downloads.service.j2)
with the given variables, the way Ansible's template module does, so the donor tarball ships the very
unit the roles install: one template, two renderers.

    render-unit.py TEMPLATE VARS_JSON > unit

Only what that template uses is provided: Jinja2 itself, Ansible's `bool` filter and `ansible_managed`.
"""
import json
import sys

import jinja2


def ansible_bool(value):
    # Ansible's bool filter: the strings yes/on/1/true (any case) are true.
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "on", "1", "true")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: render-unit.py TEMPLATE VARS_JSON")
    with open(sys.argv[1], encoding="utf-8") as f:
        source = f.read()
    variables = json.loads(sys.argv[2])
    variables.setdefault("ansible_managed", "Rendered by release.sh from ansible/roles/common/templates/downloads.service.j2")
    # Ansible's defaults: trim_blocks on, the final newline kept; undefined variables are errors.
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["bool"] = ansible_bool
    sys.stdout.write(env.from_string(source).render(**variables))


if __name__ == "__main__":
    main()
