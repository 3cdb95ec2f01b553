# The two topics the functions consume, each with a dead-letter topic and a pull subscription that keeps what
# lands there for a person (monitoring.tf alerts when it is not empty). The subscriptions that deliver the topics
# to the functions belong to Eventarc (created by `gcloud functions deploy`); cloudbuild.yaml attaches these
# dead-letter topics to them after each deploy.

resource "google_pubsub_topic" "poll" {
  name       = var.poll_topic
  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "alerts" {
  name       = var.alert_topic
  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "poll_dead_letter" {
  name       = "${var.poll_topic}-dead-letter"
  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic" "alerts_dead_letter" {
  name       = "${var.alert_topic}-dead-letter"
  depends_on = [google_project_service.required]
}

resource "google_pubsub_subscription" "poll_dead_letter_drain" {
  name                       = "${var.poll_topic}-dead-letter-drain"
  topic                      = google_pubsub_topic.poll_dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention

  # Never expire for inactivity: it is read only when something went wrong.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "alerts_dead_letter_drain" {
  name                       = "${var.alert_topic}-dead-letter-drain"
  topic                      = google_pubsub_topic.alerts_dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention

  expiration_policy {
    ttl = ""
  }
}

# The poller publishes continuations and forced polls to the poll topic, and alerts to the alert topic.
resource "google_pubsub_topic_iam_member" "runtime_publishes_poll" {
  topic  = google_pubsub_topic.poll.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.runtime.member
}

resource "google_pubsub_topic_iam_member" "runtime_publishes_alerts" {
  topic  = google_pubsub_topic.alerts.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.runtime.member
}

# Pub/Sub moves undeliverable messages into the dead-letter topics as its own service agent.
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_poll_dead_letter" {
  topic  = google_pubsub_topic.poll_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${local.pubsub_service_agent}"
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_alerts_dead_letter" {
  topic  = google_pubsub_topic.alerts_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${local.pubsub_service_agent}"
}
