#!/usr/bin/env bash
# Validates the deployment files offline (CI runs it; so can you, after
# `python3 -m pip install -r deploy/requirements.txt`):
#   - every Kubernetes manifest against the API schemas, strictly (unknown fields are errors),
#     for the oldest and newest Kubernetes versions we support;
#   - what the schemas cannot say (deploy/check_kubernetes.py): a real token issuer, TLS on the
#     Ingress, hardened containers, HPA + PDB, a shared database behind more than one replica;
#   - the same for the service template's manifests (templates/service/deploy), rendered with
#     TEMPLATE_DEFINES (cargo-generate's --define NAME=VALUE; see below);
#   - the ECS task definitions, services and ALB description (deploy/check_ecs.py);
#   - the compose file (deploy/check_compose.py).
# An issuer or audience left empty or as a placeholder (CHANGE_ME, <...>, ${...}) is an error:
# set the values in deploy/kubernetes/auth.yaml and deploy/ecs/*.task-definition.json.
# Exits non-zero, naming each problem, if anything is wrong. That the files also agree with the
# service's defaults (ports, probe paths, drain timing) is checked by
# `cargo test -p servicekit-tests --test deploy`.
set -euo pipefail
cd "$(dirname "$0")"

# Oldest and newest Kubernetes versions the manifests must be valid for.
KUBERNETES_VERSIONS=${KUBERNETES_VERSIONS:-"1.31.0 1.37.0"}

# The values the template's manifests are checked with, as `cargo generate --define` would set
# them; unset placeholders keep the template's defaults (which fail: CHANGE_ME).
TEMPLATE_DEFINES=${TEMPLATE_DEFINES:-"auth_issuer=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf auth_audience=4k1example2client3id"}

failed=0
fail() { echo "error: $*" >&2; failed=1; }

if ! command -v kubernetes-validate >/dev/null 2>&1; then
  echo "error: kubernetes-validate is not installed: python3 -m pip install -r deploy/requirements.txt" >&2
  exit 1
fi
if ! python3 -c "import yaml" 2>/dev/null; then
  echo "error: PyYAML is not installed: python3 -m pip install -r deploy/requirements.txt" >&2
  exit 1
fi

echo "== Kubernetes manifests (kubernetes-validate --strict)"
shopt -s nullglob
manifests=(kubernetes/*.yaml)
if [ ${#manifests[@]} -eq 0 ]; then
  fail "no manifests in deploy/kubernetes/"
fi
for version in $KUBERNETES_VERSIONS; do
  for manifest in "${manifests[@]}"; do
    # kubernetes-validate exits 0 on a kind it has no schema for, with only a WARN line: a
    # misspelt apiVersion or kind would pass. Every warning is a failure here.
    if ! out=$(kubernetes-validate --strict --quiet --kubernetes-version "$version" "$manifest" 2>&1); then
      fail "$manifest is not valid for Kubernetes $version:"
      printf '%s\n' "$out" | sed 's/^/    /' >&2
    elif [ -n "$out" ]; then
      fail "$manifest: kubernetes-validate warned for Kubernetes $version:"
      printf '%s\n' "$out" | sed 's/^/    /' >&2
    else
      echo "ok  $manifest (Kubernetes $version)"
    fi
  done
done

echo "== Kubernetes: auth, TLS, hardening, scaling (check_kubernetes.py)"
python3 check_kubernetes.py "${manifests[@]}" || fail "deploy/kubernetes/ has problems (listed above)"

echo "== service template's manifests (templates/service/deploy, rendered)"
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
defines=()
for define in $TEMPLATE_DEFINES; do defines+=(--define "$define"); done
if python3 render_template.py "$rendered" "${defines[@]}"; then
  for version in $KUBERNETES_VERSIONS; do
    for manifest in "$rendered"/*.yaml; do
      if ! out=$(kubernetes-validate --strict --quiet --kubernetes-version "$version" "$manifest" 2>&1) \
          || [ -n "$out" ]; then
        fail "templates/service/deploy/$(basename "$manifest") is not valid for Kubernetes $version:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
      else
        echo "ok  templates/service/deploy/$(basename "$manifest") (Kubernetes $version)"
      fi
    done
  done
  python3 check_kubernetes.py "$rendered"/*.yaml \
    || fail "templates/service/deploy/ has problems (listed above)"
else
  fail "templates/service/deploy/ cannot be rendered (listed above)"
fi

echo "== ECS task definitions, services, ALB (check_ecs.py)"
python3 check_ecs.py ecs || fail "deploy/ecs/ has problems (listed above)"

echo "== compose.yaml (check_compose.py)"
python3 check_compose.py compose.yaml || fail "deploy/compose.yaml has problems (listed above)"

if [ "$failed" -ne 0 ]; then
  echo "deploy/validate.sh: FAILED" >&2
  exit 1
fi
echo "deploy/validate.sh: all deployment files are valid"
