#!/usr/bin/env bash
# Runs every test of the project. Installs the official clients the tests use
# (Debian's python3-azure and azure-cli, and softhsm2) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
/usr/bin/python3 -c 'import azure.storage.blob, azure.storage.queue, azure.data.tables, azure.keyvault.keys, azure.identity' 2>/dev/null || need+=(python3-azure)
command -v az >/dev/null 2>&1 || need+=(azure-cli)
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test clients: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

export ATREST_REQUIRE_CLIENTS=1
export AZURE_CORE_COLLECT_TELEMETRY=false
go vet ./...
go test -timeout 25m "$@" ./...
