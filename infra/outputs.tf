output "function_service_accounts" {
  description = "Email of each function's runtime service account (ingest onCustomerWritten, poller pollDeletions, mailer sendAlert, callback receiveDeletionCallback)."
  value       = { for role, sa in local.function_accounts : role => sa.email }
}

output "callback_url" {
  description = "The public URL of receiveDeletionCallback (cloudbuild.yaml CALLBACK_URL): what vendors post status callbacks to."
  value       = local.function_urls["callback"]
}

output "trigger_service_account" {
  description = "Email of the account Eventarc and the push subscriptions invoke the functions as."
  value       = google_service_account.trigger.email
}

output "build_service_account" {
  description = "Email of the Cloud Build service account (gcloud builds submit runs as it)."
  value       = google_service_account.build.email
}

output "sql_instance_connection_name" {
  description = "PROJECT:REGION:INSTANCE, the functions' CLOUD_SQL_INSTANCE."
  value       = google_sql_database_instance.main.connection_name
}

output "database_name" {
  description = "The functions' DB_NAME."
  value       = google_sql_database.main.name
}

output "database_users" {
  description = "IAM database user of each function (its DB_IAM_USER) and of the build (which migrates as the owner role)."
  value       = merge({ for role, u in google_sql_user.functions : role => u.name }, { build = google_sql_user.build.name })
}

output "database_bootstrap_sql" {
  description = "SQL to run once as the postgres user before the first build (infra/README.md step 5)."
  value       = local.database_bootstrap_sql
}

output "topics" {
  description = "Pub/Sub topics, the push subscriptions that deliver them, their dead-letter topics and drain subscriptions."
  value = {
    poll                     = google_pubsub_topic.poll.name
    alerts                   = google_pubsub_topic.alerts.name
    poll_push                = google_pubsub_subscription.poll_push.name
    alerts_push              = google_pubsub_subscription.alerts_push.name
    poll_dead_letter         = google_pubsub_topic.poll_dead_letter.name
    alerts_dead_letter       = google_pubsub_topic.alerts_dead_letter.name
    poll_dead_letter_drain   = google_pubsub_subscription.poll_dead_letter_drain.name
    alerts_dead_letter_drain = google_pubsub_subscription.alerts_dead_letter_drain.name
  }
}

output "secrets" {
  description = "Secret Manager secret id => the environment variable the functions read it as. Each needs a version (infra/README.md step 5)."
  value       = local.secrets
}

output "anchor_bucket" {
  description = "Cloud Storage bucket of the event log's chain-head anchors (the poller's ANCHOR_BUCKET; verify-log reads it)."
  value       = google_storage_bucket.anchors.name
}

output "artifact_repository" {
  description = "Artifact Registry repository of the function images (cloudbuild.yaml --docker-repository)."
  value       = google_artifact_registry_repository.functions.id
}

output "cloudbuild_substitutions" {
  description = "Substitutions for gcloud builds submit that follow from this configuration (add _ALERT_FROM, _ALERT_TO, _VENDOR_ENV)."
  value = join(";", [
    "_REGION=${var.region}",
    "_DATABASE_LOCATION=${var.firestore_location}",
    "_FIRESTORE_DATABASE=${var.firestore_database}",
    "_INSTANCE=${google_sql_database_instance.main.name}",
    "_DB_NAME=${google_sql_database.main.name}",
    "_INGEST_SA=${google_service_account.ingest.account_id}",
    "_POLLER_SA=${google_service_account.poller.account_id}",
    "_MAILER_SA=${google_service_account.mailer.account_id}",
    "_CALLBACK_SA=${google_service_account.callback.account_id}",
    "_TRIGGER_SA=${google_service_account.trigger.account_id}",
    "_BUILD_SA=${google_service_account.build.account_id}",
    "_ARTIFACT_REPOSITORY=${google_artifact_registry_repository.functions.repository_id}",
    "_ANCHOR_BUCKET_SUFFIX=${var.anchor_bucket_suffix}",
    "_VENDORS=${join(",", var.vendors)}",
    "_VENDOR_SECRETS=${join(",", [for id, env in local.vendor_secrets : "${env}=${id}:latest"])}",
  ])
  # Printed last, once the service agents' grants had time to propagate: the build may follow at once.
  depends_on = [time_sleep.service_agent_grants]
}
