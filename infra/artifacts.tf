# The functions' images, in a repository of our own so the build account writes there and nowhere else
# (cloudbuild.yaml --docker-repository). Each function's images are one package; Cloud Build's cache images
# are others.
resource "google_artifact_registry_repository" "functions" {
  repository_id = var.artifact_repository_id
  location      = var.region
  format        = "DOCKER"
  description   = "consent-erasure function images"

  # Policies run about once a day. A KEEP rule wins over a DELETE rule, so: delete what is older than
  # var.image_retention, except the newest versions of every package (the running revision's image and a few
  # to roll back to).
  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = var.image_retention
    }
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  depends_on = [google_project_service.required]
}

# What roles/run.builder gives a functions build on this repository (upload, download and delete artifacts:
# the build replaces its cache images), granted on the repository only.
resource "google_artifact_registry_repository_iam_member" "build_repo_admin" {
  repository = google_artifact_registry_repository.functions.name
  location   = google_artifact_registry_repository.functions.location
  role       = "roles/artifactregistry.repoAdmin"
  member     = google_service_account.build.member
}
