#!/usr/bin/env bash
# One-time set-up of an empty project, by a project owner, before the first `terraform init` (infra/README.md
# step 2). Safe to run again.
#
#   infra/bootstrap.sh PROJECT_ID [REGION]
#
# - Enables the APIs Terraform needs before it can enable anything itself: Service Usage (google_project_service
#   and the service identities), Cloud Resource Manager (data "google_project"), Cloud Storage (the state bucket).
# - Creates the state bucket gs://PROJECT_ID-tfstate (or $TF_STATE_BUCKET): private, versioned, in REGION.
set -euo pipefail

project="${1:?usage: infra/bootstrap.sh PROJECT_ID [REGION]}"
region="${2:-us-central1}"
bucket="${TF_STATE_BUCKET:-${project}-tfstate}"

gcloud services enable \
  serviceusage.googleapis.com \
  cloudresourcemanager.googleapis.com \
  storage.googleapis.com \
  --project="$project"

if gcloud storage buckets describe "gs://$bucket" --project="$project" >/dev/null 2>&1; then
  echo "state bucket gs://$bucket exists"
else
  gcloud storage buckets create "gs://$bucket" --project="$project" --location="$region" \
    --uniform-bucket-level-access --public-access-prevention
fi
# Every state version is kept, so a bad apply can be rolled back by hand.
gcloud storage buckets update "gs://$bucket" --versioning

echo "bootstrap done: terraform -chdir=infra init -backend-config=\"bucket=$bucket\""
