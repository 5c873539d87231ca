#!/usr/bin/env bash
# Check an unzipped rightswatch bundle with standard tools only (bash, coreutils, openssl 3,
# python3). Run it from the bundle's top folder:
#   PUBLISHED_KEY=<fingerprint published outside the bundle> \
#   TSA_ROOTS=<PEM file(s) of the TSAs' roots, from the TSAs themselves> bash verify-all.sh
# Prints one FAIL line per problem and exits 1 if there is any.
set -u
TOLERANCE=${TOLERANCE:-600}
export TOLERANCE TSA_ROOTS="${TSA_ROOTS:-}" PUBLISHED_KEY="${PUBLISHED_KEY:-}"
status=0
fail() { echo "FAIL: $*"; status=1; }
[ -n "$PUBLISHED_KEY" ] || echo "NOTE: no PUBLISHED_KEY: the key is checked for consistency only"
[ -n "$TSA_ROOTS" ] || echo "NOTE: no TSA_ROOTS: tokens are checked against the bundle's own CA copies only"
keys=""
for d in $(find . -name manifest.json -printf '%h\n' | sort); do
  (cd "$d" && sha256sum -c --quiet sha256sums.txt) || fail "$d: a file differs from sha256sums.txt"
  (cd "$d" && openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json \
      -sigfile manifest.sig >/dev/null) || fail "$d: manifest.sig does not verify"
  fp=$(openssl pkey -pubin -in "$d/public-key.pem" -outform DER | tail -c 32 | sha256sum | cut -c1-64)
  keys="$keys $fp"
  if [ -n "$PUBLISHED_KEY" ] && [ "$fp" != "$PUBLISHED_KEY" ]; then
    fail "$d: signed by key $fp, not the published key"
  fi
  for t in "$d"/timestamps/*.tsr; do
    [ -e "$t" ] || { fail "$d: no timestamp token"; continue; }
    ca="${t%.tsr}.ca.pem"; [ -n "$TSA_ROOTS" ] && ca="$TSA_ROOTS"
    openssl ts -verify -data "$d/manifest.json" -in "$t" -CAfile "$ca" \
      -untrusted "${t%.tsr}.certs.pem" >/dev/null 2>&1 || fail "$t: token does not verify against $ca"
  done
done
n=$(echo $keys | tr ' ' '\n' | sort -u | grep -c .)
[ "$n" = 1 ] || fail "the sealed folders carry $n different keys: every folder must carry one key"
python3 - <<'PY' || status=1
import base64, datetime as dt, hashlib, json, os, re, subprocess, sys, tempfile
bad = []
tol = float(os.environ["TOLERANCE"]); roots = os.environ["TSA_ROOTS"]
SEAL = {"manifest.json", "manifest.sig", "sha256sums.txt"}
sealed = sorted({r for r, _, f in os.walk(".") if "manifest.json" in f})
def sha(p): return hashlib.sha256(open(p, "rb").read()).hexdigest()
def tsa_time(tsr):
    out = subprocess.run(["openssl", "ts", "-reply", "-in", tsr, "-text"], capture_output=True, text=True).stdout
    m = re.search(r"Time stamp: (\w+ +\d+ [\d:]+)(?:\.\d+)? (\d+) GMT", out)
    acc = re.search(r"Accuracy: (?:0x)?(\d+) seconds", out)
    t = dt.datetime.strptime(" ".join(m.group(1).split()) + " " + m.group(2), "%b %d %H:%M:%S %Y")
    return t.replace(tzinfo=dt.timezone.utc), float(acc.group(1)) if acc else 0.0
def when(s): return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
for d in sealed:  # extra files: every file must be listed by its folder's manifest
    listed = {f["path"] for f in json.load(open(f"{d}/manifest.json"))["files"]}
    nested = [s for s in sealed if s != d and s.startswith(d + "/")]
    for r, _, files in os.walk(d):
        if any(r == n or r.startswith(n + "/") for n in nested): continue
        for name in files:
            rel = os.path.relpath(os.path.join(r, name), d)
            if rel not in listed and rel not in SEAL and not rel.startswith("timestamps/"):
                bad.append(f"{d}/{rel}: extra file, not in the manifest")
    if os.path.exists(f"{d}/metadata.json"):  # capture times against the TSA's time
        meta = json.load(open(f"{d}/metadata.json"))
        for t in sorted(os.listdir(f"{d}/timestamps")):
            if not t.endswith(".tsr"): continue
            at, acc = tsa_time(f"{d}/timestamps/{t}")
            for k in ("started_utc", "ended_utc"):
                gap = (at - when(meta[k])).total_seconds()
                if abs(gap) > tol + acc:
                    bad.append(f"{d}/metadata.json: {k} is {gap:.0f} s from the TSA time {at} ({t})")
genesis = hashlib.sha256(b"rightswatch custody chain v1").hexdigest()
for f in (sorted(os.listdir("findings")) if os.path.isdir("findings") else []):
    base = f"findings/{f}"; log = f"{base}/custody.jsonl"
    facts = json.load(open(f"{base}/finding.json"))
    entries = [json.loads(l) for l in open(log, encoding="utf-8") if l.strip()]
    prev = genesis
    for n, e in enumerate(entries, 1):  # the hash chain
        body = {k: v for k, v in e.items() if k != "hash"}
        h = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        if h != e["hash"] or e["prev"] != prev: bad.append(f"{log} line {n}: chain broken")
        prev = e["hash"]
        if e["action"] == "anchored":  # the head timestamped: tokens over the previous hash
            for tok in e["details"]["tokens"]:
                with tempfile.TemporaryDirectory() as tmp:
                    open(f"{tmp}/head", "w").write(e["prev"]); open(f"{tmp}/t.tsr", "wb").write(base64.b64decode(tok["tsr"]))
                    label = re.sub(r"[^A-Za-z0-9.]+", "-", re.sub(r"^[a-z]+://", "", tok["tsa"])).strip("-")
                    ca = roots or f"timestamps/{label}.ca.pem"
                    ok = subprocess.run(["openssl", "ts", "-verify", "-data", f"{tmp}/head", "-in", f"{tmp}/t.tsr", "-CAfile", ca, "-untrusted", f"timestamps/{label}.certs.pem"], capture_output=True).returncode == 0
                    if not ok: bad.append(f"{log} line {n}: anchor token does not cover the previous entry")
                    else:
                        at, acc = tsa_time(f"{tmp}/t.tsr"); gap = (at - when(e["at"])).total_seconds()
                        if abs(gap) > tol + acc: bad.append(f"{log} line {n}: anchor token dated {gap:.0f} s from its entry: re-anchored later")
    if not entries or entries[-1]["action"] != "anchored":
        bad.append(f"{log}: does not end with the export anchor")
    sealed_entry = {str(e["details"].get("capture_id")): e["details"].get("manifest_sha256") for e in entries if e["action"] == "sealed"}
    named = {str(c.get("capture_id")): c.get("manifest_sha256") for c in facts["captures"]}
    for cap in sorted(os.listdir(f"{base}/captures")):  # links: one manifest hash everywhere
        actual = sha(f"{base}/captures/{cap}/manifest.json")
        if named.get(cap) != actual: bad.append(f"{base}/captures/{cap}: finding.json names another manifest hash")
        if sealed_entry.get(cap) != actual: bad.append(f"{base}/captures/{cap}: custody names another manifest hash")
    for ref in facts.get("references_in_bundle", []):
        if "file" in ref and sha(f"{base}/{ref['file']}") != ref["sha256"]:
            bad.append(f"{base}/{ref['file']}: differs from the hash in finding.json")
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
[ "$status" = 0 ] && echo "ALL CHECKS PASSED" || echo "NOT VERIFIED"
exit $status
