# The event log's external anchors (README.md, "The event log's external anchors"): every CHAIN_ANCHOR_MINUTES
# the poller writes the chain head {sequence, hash, time} as a new object here. The retention policy forbids
# deleting or replacing any object before it is anchor_retention_seconds old, so whoever can rewrite the database (and
# recompute every hash of the chain) cannot rewrite the anchors too; `consent-erasure verify-log` compares them.

resource "google_storage_bucket" "anchors" {
  name                        = "${var.project_id}-${var.anchor_bucket_suffix}"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # A locked policy can never be shortened or removed, not even by a project owner: lock it once the deployment
  # is settled (anchor_retention_locked), as locking cannot be undone.
  retention_policy {
    retention_period = var.anchor_retention_seconds
    is_locked        = var.anchor_retention_locked
  }
  # Objects outlive their retention period until deleted by hand; nothing deletes them automatically.
  force_destroy = false
  depends_on    = [google_project_service.required]
}

# The poller may create objects, never read, replace or delete them (objectCreator has no delete; the
# retention policy forbids it anyway).
resource "google_storage_bucket_iam_member" "anchors_poller_create" {
  bucket = google_storage_bucket.anchors.name
  role   = "roles/storage.objectCreator"
  member = local.function_accounts["poller"].member
}

# Operators read them for `consent-erasure verify-log`.
resource "google_storage_bucket_iam_member" "anchors_operators_read" {
  bucket = google_storage_bucket.anchors.name
  role   = "roles/storage.objectViewer"
  member = "group:${var.operators_group}"
}
