# Every API the deploy and the functions touch. Left enabled on destroy: other workloads may use them.
locals {
  required_apis = [
    "artifactregistry.googleapis.com", # function images
    "cloudbuild.googleapis.com",       # the pipeline and the functions' builds
    "cloudfunctions.googleapis.com",   # gcloud functions deploy (2nd gen)
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com", # the poll tick
    "eventarc.googleapis.com",       # Firestore and Pub/Sub triggers
    "firestore.googleapis.com",      # the customers collection
    "iam.googleapis.com",
    "iamcredentials.googleapis.com", # IAM database login tokens
    "logging.googleapis.com",        # log-based metrics
    "monitoring.googleapis.com",     # alert policies
    "pubsub.googleapis.com",         # poll and alert topics
    "run.googleapis.com",            # 2nd gen functions run on Cloud Run
    "secretmanager.googleapis.com",  # SendGrid and vendor credentials
    "sqladmin.googleapis.com",       # Cloud SQL, and the connector's metadata calls
    "storage.googleapis.com",        # the event log's chain-head anchors
  ]
}

resource "google_project_service" "required" {
  for_each = toset(local.required_apis)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
