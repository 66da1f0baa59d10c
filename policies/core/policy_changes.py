"""A policy change in sentences a reviewer reads: "rule 2: host api.example.com added to httpbin-https".

The typed diff (``diff``) compares documents field by field and position by position, which is
right for Istio objects but reads badly for a policy: removing the first rule would show every
later rule as changed. Here rules and to-entries are first paired by identity (to-entries by
their unique name, rules by name or by the entries they share), sources and hosts are compared as
sets, and only then does ``diff`` compare each pair field by field. Each difference becomes one
``PolicyChange`` with a stable ``kind``, the JSON path it is about (in the new revision; in the
old one for removals) and a translatable sentence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.core.diff import Change, diff
from policies.core.document import policy_to_data
from policies.core.findings import json_path
from policies.core.i18n import Translate, _, english
from policies.core.model import EgressPolicy
from policies.core.simulator.result import Text, text

Data = dict[str, Any]
Path = tuple[str | int, ...]
RULES_PATH: Path = ("spec", "egressRules")
# Entry fields with a sentence of their own: path inside a to-entry → (kind, template).
ENTRY_FIELDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("port", "number"): ("port_changed", _("{rule}: {entry} port {old} → {new}")),
    ("port", "protocol"): ("protocol_changed", _("{rule}: {entry} protocol {old} → {new}")),
    ("port", "name"): ("port_name_changed", _("{rule}: {entry} port name {old} → {new}")),
    ("byEgressGateway", "port"): ("gateway_port_changed", _("{rule}: {entry} gateway port {old} → {new}")),
    ("httpsUpgrade", "port"): ("upgrade_port_changed", _("{rule}: {entry} httpsUpgrade port {old} → {new}")),
}


@dataclass(frozen=True)
class PolicyChange:
    """One meaningful difference between two revisions of a policy.

    Attributes:
        kind: Stable machine code, e.g. ``host_added``, ``source_removed``, ``upgrade_enabled``.
        path: JSON path of the field, e.g. ``spec.egressRules[1].to[0].hosts``.
        sentence: The change as a translatable sentence.
        old: The value before (None when added).
        new: The value after (None when removed).
    """

    kind: str
    path: str
    sentence: Text
    old: Any = None
    new: Any = None

    @property
    def message(self) -> str:
        """The sentence in English."""
        return self.sentence.render(english)

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: kind, path, message, old, new."""
        message = self.sentence.render(translate)
        return {"kind": self.kind, "path": self.path, "message": message, "old": self.old, "new": self.new}


def policy_changes(old: EgressPolicy | None, new: EgressPolicy | None) -> list[PolicyChange]:
    """What changes from ``old`` to ``new``, in sentences.

    Args:
        old: The revision in force; None is the empty policy.
        new: The proposed revision; None is the empty policy.

    Returns:
        Changes outside the rules first (gateway, metadata; none when one side is the empty
        policy), then per rule of ``new`` in order (rule, sources, entries), then removed rules;
        empty when the revisions are equal.
    """
    before, after = (policy_to_data(p) if p is not None else {} for p in (old, new))
    # NB: against the empty policy only the rules count: apiVersion, kind and metadata are not news.
    outside = list(_outside_rules(before, after)) if old is not None and new is not None else []
    return [*outside, *_RulePairing(_rules(before), _rules(after)).changes()]


def _rules(data: Data) -> list[Data]:
    return list((data.get("spec") or {}).get("egressRules") or [])


def _outside_rules(before: Data, after: Data) -> Iterator[PolicyChange]:
    def without_rules(data: Data) -> Data:
        spec = {key: value for key, value in (data.get("spec") or {}).items() if key != "egressRules"}
        return {**data, "spec": spec} if data else {}

    for change in diff(without_rules(before), without_rules(after)):
        path = change.dotted_path or "(document)"
        if change.path == ("spec", "byEgressGateway", "name"):
            template = _("egress gateway {old} → {new}")
            sentence = text(template, old=_shown(change.old), new=_shown(change.new))
            yield PolicyChange("gateway_changed", path, sentence, change.old, change.new)
        else:
            yield _field_change(change.operation, path, change.old, change.new)


FIELD_TEMPLATES = {
    "add": _("{path} set to {new}"),
    "remove": _("{path} removed (was {old})"),
    "change": _("{path} changed: {old} → {new}"),
}
FIELD_KINDS = {"add": "field_added", "remove": "field_removed", "change": "field_changed"}


def _field_change(operation: str, path: str, old: Any, new: Any) -> PolicyChange:
    sentence = text(FIELD_TEMPLATES[operation], path=path, old=_shown(old), new=_shown(new))
    return PolicyChange(FIELD_KINDS[operation], path, sentence, old, new)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def source_label(item: Data) -> str:
    """``mytest/app=sleep-a`` for a ``from`` item (``mytest/*`` for a whole namespace)."""
    pairs = ",".join(f"{key}={value}" for key, value in sorted((item.get("workloadSelector") or {}).items()))
    return f"{item.get('namespace', '')}/{pairs or '*'}"


def rule_label(index: int, rule: Data) -> Text:
    """``rule 2`` (1-based), with its name when it has one: ``rule 2 (partners)``."""
    if rule.get("name"):
        return text(_("rule {number} ({name})"), number=index + 1, name=rule["name"])
    return text(_("rule {number}"), number=index + 1)


def _equal(new: Data, old: Data) -> bool:
    return new == old


def _same_name(new: Data, old: Data) -> bool:
    return bool(new.get("name")) and new.get("name") == old.get("name")


def _shared_entries(new: Data, old: Data) -> int:
    names = [{to.get("name") for to in rule.get("to") or []} - {None} for rule in (new, old)]
    return len(names[0] & names[1])


def _shared_sources(new: Data, old: Data) -> int:
    sources = [{source_label(item) for item in rule.get("from") or []} for rule in (new, old)]
    return len(sources[0] & sources[1])


class _RulePairing:
    """Old and new rules paired by identity: equal rules first, then equal names, then the most
    to-entry names shared, then the most sources shared (ties: the nearest position); a rule
    left unpaired was added or removed."""

    def __init__(self, old: list[Data], new: list[Data]) -> None:
        self.old, self.new = old, new
        self.match: dict[int, int] = {}  # new index → old index
        taken: set[int] = set()
        for same in (_equal, _same_name):
            for n, rule in enumerate(new):
                found = [o for o, r in enumerate(old) if o not in taken and n not in self.match and same(rule, r)]
                if found:
                    self._pair(n, min(found, key=lambda o: abs(o - n)), taken)
        for score in (_shared_entries, _shared_sources):
            for n, rule in enumerate(new):
                best = max(
                    ((score(rule, r), -abs(o - n), o) for o, r in enumerate(old) if o not in taken), default=None
                )
                if n not in self.match and best is not None and best[0] > 0:
                    self._pair(n, best[2], taken)
        self.removed = [o for o in range(len(old)) if o not in taken]
        self.old_entries = {to["name"]: (o, t) for o, r in enumerate(old) for t, to in enumerate(r.get("to") or [])}
        self.new_names = {to.get("name") for rule in new for to in rule.get("to") or []}

    def _pair(self, new_index: int, old_index: int, taken: set[int]) -> None:
        self.match[new_index] = old_index
        taken.add(old_index)

    def changes(self) -> Iterator[PolicyChange]:
        """Every change, rule by rule in the new order, then the removed rules."""
        for n, rule in enumerate(self.new):
            path = (*RULES_PATH, n)
            if n not in self.match:
                yield _rule_event("rule_added", path, n, rule)
                yield from _EntryPairing(self, -1, n).moved_in()
                continue
            o = self.match[n]
            yield from _rule_changes(o, self.old[o], n, rule)
            yield from _EntryPairing(self, o, n).changes()
        for o in self.removed:
            yield _rule_event("rule_removed", (*RULES_PATH, o), o, self.old[o])


def _rule_event(kind: str, path: Path, index: int, rule: Data) -> PolicyChange:
    templates = {
        "rule_added": _("{rule} added: {sources} → {entries}"),
        "rule_removed": _("{rule} removed: {sources} → {entries}"),
    }
    entries = ", ".join(to.get("name", "?") for to in rule.get("to") or [])
    sources = ", ".join(source_label(item) for item in rule.get("from") or [])
    sentence = text(templates[kind], rule=rule_label(index, rule), sources=sources, entries=entries)
    old, new = (None, rule) if kind == "rule_added" else (rule, None)
    return PolicyChange(kind, json_path(path), sentence, old, new)


def _rule_changes(o: int, old: Data, n: int, new: Data) -> Iterator[PolicyChange]:
    label, path = rule_label(n, new), (*RULES_PATH, n)
    if old.get("name") != new.get("name"):
        names = {"old": _shown(old.get("name")), "new": _shown(new.get("name"))}
        sentence = text(_("{rule} renamed: {old} → {new}"), rule=label, **names)
        yield PolicyChange("rule_renamed", json_path((*path, "name")), sentence, old.get("name"), new.get("name"))
    before = {source_label(item): item for item in old.get("from") or []}
    after = {source_label(item): item for item in new.get("from") or []}
    templates = (_("source {item} added to {rule}"), _("source {item} removed from {rule}"))
    places = (json_path((*path, "from")), json_path((*RULES_PATH, o, "from")))
    yield from _member_changes("source", before, after, templates, places, rule=label)


def _member_changes(
    noun: str,
    before: dict[str, Any],
    after: dict[str, Any],
    templates: tuple[str, str],
    places: tuple[str, str],
    **at: Any,
) -> Iterator[PolicyChange]:
    """``{noun}_added`` / ``{noun}_removed`` for members of a set (sources of a rule, hosts of an entry)."""
    for key, value in after.items():
        if key not in before:
            yield PolicyChange(f"{noun}_added", places[0], text(templates[0], item=key, **at), None, value)
    for key, value in before.items():
        if key not in after:
            yield PolicyChange(f"{noun}_removed", places[1], text(templates[1], item=key, **at), value, None)


class _EntryPairing:
    """The to-entries of one pair of rules: paired by name (also across rules), else renamed twins."""

    def __init__(self, rules: _RulePairing, o: int, n: int) -> None:
        self.rules, self.o, self.n = rules, o, n  # NB: o is -1 for a new rule paired with none
        self.label = rule_label(n, rules.new[n])
        lost = rules.old[o].get("to") or [] if o >= 0 else []
        self.vanished = [to for to in lost if to.get("name") not in rules.new_names]

    def moved_in(self) -> Iterator[PolicyChange]:
        """For an added rule: the entries it took over from old rules."""
        for t, to in enumerate(self.rules.new[self.n].get("to") or []):
            found = self.rules.old_entries.get(to.get("name") or "")
            if found is not None:
                yield from self._moved(to, (*RULES_PATH, self.n, "to", t), *found)

    def changes(self) -> Iterator[PolicyChange]:
        """Added, moved, renamed and changed entries of the new rule, then those it lost."""
        for t, to in enumerate(self.rules.new[self.n].get("to") or []):
            yield from self._entry(to, (*RULES_PATH, self.n, "to", t))
        old_rule = self.rules.old[self.o]
        for to in self.vanished:
            where = json_path((*RULES_PATH, self.o, "to", (old_rule.get("to") or []).index(to)))
            sentence = text(_("{rule}: entry {entry} removed"), rule=rule_label(self.o, old_rule), entry=to.get("name"))
            yield PolicyChange("entry_removed", where, sentence, to, None)

    def _entry(self, to: Data, path: Path) -> Iterator[PolicyChange]:
        found = self.rules.old_entries.get(to.get("name") or "")
        if found is not None:
            yield from self._moved(to, path, *found)
            yield from _entry_field_changes(self.label, path, self.rules.old[found[0]]["to"][found[1]], to)
            return
        twin = next((old for old in self.vanished if _same_target(old, to)), None)
        if twin is None:
            hosts, port = ", ".join(to.get("hosts") or []), (to.get("port") or {}).get("number")
            template = _("{rule}: entry {entry} added ({hosts}, port {port})")
            sentence = text(template, rule=self.label, entry=to.get("name"), hosts=hosts, port=port)
            yield PolicyChange("entry_added", json_path(path), sentence, None, to)
            return
        self.vanished.remove(twin)
        names = {"old": twin.get("name"), "new": to.get("name")}
        sentence = text(_("{rule}: entry {old} renamed to {new}"), rule=self.label, **names)
        yield PolicyChange("entry_renamed", json_path((*path, "name")), sentence, names["old"], names["new"])
        yield from _entry_field_changes(self.label, path, twin, to)

    def _moved(self, to: Data, path: Path, ro: int, rt: int) -> Iterator[PolicyChange]:
        if ro != self.o:
            old_label = rule_label(ro, self.rules.old[ro])
            sentence = text(
                _("entry {entry} moved from {old} to {new}"), entry=to["name"], old=old_label, new=self.label
            )
            before = json_path((*RULES_PATH, ro, "to", rt))
            yield PolicyChange("entry_moved", json_path(path), sentence, before, json_path(path))


def _same_target(old: Data, new: Data) -> bool:
    return old.get("hosts") == new.get("hosts") and old.get("port") == new.get("port")


def _entry_field_changes(label: Text, path: Path, old: Data, new: Data) -> Iterator[PolicyChange]:
    entry, where = new.get("name"), json_path((*path, "hosts"))
    hosts = [{host: host for host in side.get("hosts") or []} for side in (old, new)]
    templates = (_("{rule}: host {item} added to {entry}"), _("{rule}: host {item} removed from {entry}"))
    yield from _member_changes("host", hosts[0], hosts[1], templates, (where, where), rule=label, entry=entry)
    yield from _upgrade_changes(label, path, old, new)
    for change in diff(_plain_fields(old), _plain_fields(new)):
        yield _entry_field_change(label, entry, path, change)


def _entry_field_change(label: Text, entry: Any, path: Path, change: Change) -> PolicyChange:
    where = json_path((*path, *change.path))
    kind, template = ENTRY_FIELDS.get(tuple(str(part) for part in change.path), ("", ""))
    if not kind:
        return _field_change(change.operation, where, change.old, change.new)
    sentence = text(template, rule=label, entry=entry, old=_shown(change.old), new=_shown(change.new))
    return PolicyChange(kind, where, sentence, change.old, change.new)


def _plain_fields(entry: Data) -> Data:
    """The entry without the fields compared on their own (name, hosts, httpsUpgrade)."""
    return {key: value for key, value in entry.items() if key not in ("name", "hosts", "httpsUpgrade")}


def _upgrade_changes(label: Text, path: Path, old: Data, new: Data) -> Iterator[PolicyChange]:
    """Turned on, turned off, or (while on) another upgrade port."""
    before, after = old.get("httpsUpgrade") or {}, new.get("httpsUpgrade") or {}
    on = bool(before.get("enabled")), bool(after.get("enabled"))
    at = {"rule": label, "entry": new.get("name"), "host": (new.get("hosts") or ["?"])[0]}
    at["port"] = (new.get("port") or {}).get("number")
    if on == (False, True):
        template = _("{rule}: httpsUpgrade turned on for {host}:{port} ({entry}, to port {upgrade})")
        sentence = text(template, upgrade=after.get("port"), **at)
        yield PolicyChange("upgrade_enabled", json_path((*path, "httpsUpgrade")), sentence, before or None, after)
    elif on == (True, False):
        sentence = text(_("{rule}: httpsUpgrade turned off for {host}:{port} ({entry})"), **at)
        yield PolicyChange("upgrade_disabled", json_path((*path, "httpsUpgrade")), sentence, before, after or None)
    elif on == (True, True) and before.get("port") != after.get("port"):
        change = Change("change", ("httpsUpgrade", "port"), before.get("port"), after.get("port"))
        yield _entry_field_change(label, new.get("name"), path, change)
