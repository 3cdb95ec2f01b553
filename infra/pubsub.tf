# The two topics the functions consume. Terraform owns the whole delivery: a push subscription per topic to
# its function's service, with the retry policy and the dead-letter topic, and a pull subscription on each
# dead-letter topic that keeps what lands there for a person (monitoring.tf alerts when it is not empty).
# infra/README.md "Why push subscriptions" gives the reasons (Eventarc owns the subscriptions it creates).

locals {
  # Cloud Run's deterministic URL of a service, https://SERVICE-PROJECT_NUMBER.REGION.run.app: known before the
  # build creates the service, so the subscriptions need no second apply.
  function_urls = {
    for role, service in local.function_services :
    role => "https://${service}-${data.google_project.this.number}.${var.region}.run.app"
  }
}

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

# Delivers the poll topic to poll-deletions. The push path /projects/P/topics/T is what the Functions Framework
# reads the topic from when it turns a Pub/Sub push body into the CloudEvent the handler takes (as the local
# stack's emulator pushes do). The ack deadline covers the poller's --timeout (540 s).
resource "google_pubsub_subscription" "poll_push" {
  name                       = "${var.poll_topic}-push"
  topic                      = google_pubsub_topic.poll.id
  ack_deadline_seconds       = 600
  message_retention_duration = "86400s" # a tick older than a day is of no use: the next one does the same

  push_config {
    push_endpoint = "${local.function_urls["poller"]}/projects/${var.project_id}/topics/${var.poll_topic}"
    oidc_token {
      service_account_email = google_service_account.trigger.email
      audience              = local.function_urls["poller"]
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.poll_dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never expire for inactivity (the default is 31 days without deliveries).
  expiration_policy {
    ttl = ""
  }
}

# Delivers the alert topic to send-alert; its --timeout is 60 s.
resource "google_pubsub_subscription" "alerts_push" {
  name                       = "${var.alert_topic}-push"
  topic                      = google_pubsub_topic.alerts.id
  ack_deadline_seconds       = 120
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${local.function_urls["mailer"]}/projects/${var.project_id}/topics/${var.alert_topic}"
    oidc_token {
      service_account_email = google_service_account.trigger.email
      audience              = local.function_urls["mailer"]
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.alerts_dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
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

# Publishers. Only the poller publishes alerts; the poll topic takes the poller's continuations and the
# operators' forced polls (`consent-erasure poll`). The Scheduler job publishes as Cloud Scheduler's own agent.
resource "google_pubsub_topic_iam_member" "poller_publishes_poll" {
  topic  = google_pubsub_topic.poll.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.poller.member
}

resource "google_pubsub_topic_iam_member" "poller_publishes_alerts" {
  topic  = google_pubsub_topic.alerts.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.poller.member
}

# A verified status callback asks for a check of its operation now (functions/services/receiveCallback.ts).
resource "google_pubsub_topic_iam_member" "callback_publishes_poll" {
  topic  = google_pubsub_topic.poll.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.callback.member
}

resource "google_pubsub_topic_iam_member" "operators_force_polls" {
  topic  = google_pubsub_topic.poll.id
  role   = "roles/pubsub.publisher"
  member = "group:${var.operators_group}"
}

# Dead-lettering: Pub/Sub, as its service agent, acknowledges the message on the source subscription and
# publishes it to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_poll_dead_letter" {
  topic  = google_pubsub_topic.poll_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_alerts_dead_letter" {
  topic  = google_pubsub_topic.alerts_dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_subscribes_poll_push" {
  subscription = google_pubsub_subscription.poll_push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_subscribes_alerts_push" {
  subscription = google_pubsub_subscription.alerts_push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
