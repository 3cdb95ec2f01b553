terraform {
  required_version = ">= 1.5.0"

  required_providers {
    # Pinned exactly: a provider upgrade is a reviewed change, not a side effect of `terraform init`.
    google = {
      source  = "hashicorp/google"
      version = "7.15.0"
    }
    # google_project_service_identity (the Pub/Sub and Eventarc service agents) exists only in google-beta.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "7.15.0"
    }
    # time_sleep: waits for what Google Cloud makes eventually consistent (new log-based metrics, agent roles).
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }
}

# Every call is billed to and quota-checked against the project itself (X-Goog-User-Project), so user
# credentials from `gcloud auth application-default login` work for the APIs that refuse them otherwise
# (Service Usage's generateServiceIdentity among them). infra/bootstrap.sh enables what this needs first.
provider "google" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}

provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}

# Needs the Cloud Resource Manager API, which infra/bootstrap.sh enables before the first plan.
data "google_project" "this" {
  project_id = var.project_id
}
