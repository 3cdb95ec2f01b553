terraform {
  required_version = ">= 1.5.0"

  required_providers {
    # Pinned exactly: a provider upgrade is a reviewed change, not a side effect of `terraform init`.
    google = {
      source  = "hashicorp/google"
      version = "7.15.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_project" "this" {
  project_id = var.project_id
}
