# Log-based metrics on the functions' structured log lines (jsonPayload.event, see infra/README.md for the list
# the code must keep emitting) and an alert policy on each, plus one on dead-lettered messages.

# Two filter languages meet here: a log-based metric's filter is a Logging query (`field=("a" OR "b")`), an
# alert policy's condition filter is a Monitoring filter (`field=one_of("a", "b")`); test/unit/deploy checks each
# Monitoring filter against that grammar.

locals {
  # Logging query language.
  functions_filter = join(" ", [
    "resource.type=\"cloud_run_revision\"",
    "AND resource.labels.service_name=(${join(" OR ", [for s in values(local.function_services) : "\"${s}\""])})",
  ])

  log_metrics = {
    alerts_raised = {
      event       = "alert_raised"
      kinds       = []
      label       = "kind"
      description = "Alerts the poller raised (every kind), each also emailed by send-alert."
      severity    = "WARNING"
    }
    contract_violations = {
      event       = "vendor_contract_violation"
      kinds       = []
      label       = "vendor"
      description = "Vendor responses that did not match the vendor's documented contract."
      severity    = "ERROR"
    }
    stale_operations = {
      event       = "alert_raised"
      kinds       = ["stale", "no_progress"]
      label       = "vendor"
      description = "Deletions past their vendor's expected completion time or without progress."
      severity    = "WARNING"
    }
    failed_submissions = {
      event       = "vendor_submit_failed"
      kinds       = []
      label       = "vendor"
      description = "Submissions a vendor did not accept (they stay queued and are retried)."
      severity    = "WARNING"
    }
  }
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  display_name = "consent-erasure: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }

  depends_on = [google_project_service.required]
}

resource "google_logging_metric" "events" {
  for_each = local.log_metrics

  name        = "consent-erasure/${replace(each.key, "_", "-")}"
  description = each.value.description
  filter = join(" ", compact([
    local.functions_filter,
    "AND jsonPayload.event=\"${each.value.event}\"",
    length(each.value.kinds) > 0 ? "AND jsonPayload.kind=(${join(" OR ", [for k in each.value.kinds : "\"${k}\""])})" : "",
  ]))

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = each.value.label
      value_type  = "STRING"
      description = "The ${each.value.label} field of the log line."
    }
  }

  label_extractors = {
    (each.value.label) = "EXTRACT(jsonPayload.${each.value.label})"
  }

  depends_on = [google_project_service.required]
}

# A new log-based metric is unknown to Cloud Monitoring for up to 10 minutes, and an alert policy on it fails with
# 404 "Cannot find metric(s)" meanwhile (terraform-provider-google #11102), so the policies wait. The wait runs
# beside the Cloud SQL instance's creation, which takes longer, and again only when a metric is replaced.
resource "time_sleep" "log_metrics_known" {
  create_duration = "600s"

  triggers = {
    metrics = join(",", sort([for m in google_logging_metric.events : m.id]))
  }
}

resource "google_monitoring_alert_policy" "events" {
  for_each = local.log_metrics

  display_name          = "consent-erasure: ${replace(each.key, "_", " ")}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]

  conditions {
    display_name = "${replace(each.key, "_", " ")} in the last 5 minutes"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.events[each.key].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.${each.value.label}"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "${each.value.description} Log query: `${google_logging_metric.events[each.key].filter}`. The runbook is in infra/README.md."
  }

  depends_on = [time_sleep.log_metrics_known]
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "consent-erasure: dead-lettered messages"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = [for c in google_monitoring_notification_channel.email : c.id]

  conditions {
    display_name = "messages waiting in a dead-letter drain subscription"

    condition_threshold {
      filter = join(" ", [
        "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
        "AND resource.type=\"pubsub_subscription\"",
        "AND resource.labels.subscription_id=one_of(\"${google_pubsub_subscription.poll_dead_letter_drain.name}\", \"${google_pubsub_subscription.alerts_dead_letter_drain.name}\")",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A poll or alert message failed every delivery and was dead-lettered. Pull it from the drain subscription, fix the cause, and republish it (infra/README.md)."
  }

  depends_on = [google_project_service.required]
}
