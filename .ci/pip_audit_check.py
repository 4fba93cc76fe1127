"""Run pip-audit on the installed environment and tell "clean" apart from "not audited".

pip-audit asks PyPI's JSON API (/pypi/NAME/VERSION/json) for each installed distribution.
Where that API is unreachable or answers 404 (a PyPI mirror, no network), pip-audit skips
every package and still prints "No known vulnerabilities found" with exit 0. This wrapper
fails on any known vulnerability, and reports "not audited" as a loud warning that does not
fail the build, unless AUDIT_STRICT=1 (then it fails too).

Reviewed vulnerabilities are waived in REVIEWED below, each with its reason; SECURITY-REPORT.md
lists them too.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Vulnerability id -> why it does not apply here (keep SECURITY-REPORT.md in step).
REVIEWED: dict[str, str] = {}
TIMEOUT_S = 600
OWN_NAME = "guild-marketplace"


def main() -> int:
    strict = os.environ.get("AUDIT_STRICT") == "1"
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        argv = [str(pip_audit), "--skip-editable", "--progress-spinner", "off",
                "--format", "json", "--output", str(out)]
        for vuln_id in REVIEWED:
            argv += ["--ignore-vuln", vuln_id]
        try:
            # argv: pip-audit beside this Python, fixed options; no shell.
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S,  # noqa: S603
                                  check=False)
        except subprocess.TimeoutExpired:
            return not_audited(f"pip-audit did not finish within {TIMEOUT_S} s", strict)
        report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    if report is None:
        return not_audited(f"pip-audit failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-1500:]}", strict)

    # The project itself is not on PyPI (pip-audit may still list it despite --skip-editable).
    deps = [d for d in report["dependencies"] if d["name"] != OWN_NAME]
    audited = [d for d in deps if "skip_reason" not in d]
    skipped = [d for d in deps if "skip_reason" in d]
    vulnerable = [(d, v) for d in audited for v in d.get("vulns", [])]
    for dep, vuln in vulnerable:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
        print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} "
              f"(fixed in {fixes}) {vuln.get('description', '')[:200]}")
    print(f"pip-audit: {len(audited)} of {len(deps)} installed distributions audited, "
          f"{len(vulnerable)} known vulnerabilities, {len(REVIEWED)} reviewed exceptions.")
    if vulnerable:
        return 1
    if skipped:
        names = ", ".join(sorted(d["name"] for d in skipped))
        reason = skipped[0]["skip_reason"]
        return not_audited(f"{len(skipped)} distributions could not be audited (e.g. "
                           f"{reason!r}): {names}", strict)
    return 0


def not_audited(why: str, strict: bool) -> int:
    print(f"WARNING: dependencies NOT audited for known vulnerabilities: {why}", file=sys.stderr)
    print("WARNING: PyPI's vulnerability data (pypi.org/pypi/NAME/VERSION/json) is needed; "
          "run `make audit` where it is reachable.", file=sys.stderr)
    return 2 if strict else 0


if __name__ == "__main__":
    sys.exit(main())
