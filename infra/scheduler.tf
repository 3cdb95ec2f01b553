# The poll tick. The body is "{}" ("do what is due"), never empty: a Pub/Sub message needs data or attributes,
# and the poller reads an empty body as invalid.
resource "google_cloud_scheduler_job" "poll" {
  name        = "${var.poll_topic}-tick"
  description = "Runs the consent-erasure poller: submits queued deletions and checks the operations that are due."
  region      = var.region
  schedule    = var.poll_schedule
  time_zone   = var.poll_time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.poll.id
    data       = base64encode("{}")
  }

  retry_config {
    retry_count = 1
  }

  depends_on = [google_project_service.required]
}
