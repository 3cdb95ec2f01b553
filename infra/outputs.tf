output "runtime_service_account" {
  description = "Email of the functions' runtime service account."
  value       = google_service_account.runtime.email
}

output "trigger_service_account" {
  description = "Email of the Eventarc trigger service account."
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

output "runtime_database_user" {
  description = "The functions' DB_IAM_USER (IAM database user of the runtime service account)."
  value       = google_sql_user.runtime.name
}

output "build_database_user" {
  description = "IAM database user the migrations run as."
  value       = google_sql_user.build.name
}

output "database_bootstrap_sql" {
  description = "SQL to run once as the postgres user before the first build (infra/README.md)."
  value       = local.database_bootstrap_sql
}

output "topics" {
  description = "Pub/Sub topics: poll and alerts, and their dead-letter topics and drain subscriptions."
  value = {
    poll                     = google_pubsub_topic.poll.name
    alerts                   = google_pubsub_topic.alerts.name
    poll_dead_letter         = google_pubsub_topic.poll_dead_letter.name
    alerts_dead_letter       = google_pubsub_topic.alerts_dead_letter.name
    poll_dead_letter_drain   = google_pubsub_subscription.poll_dead_letter_drain.name
    alerts_dead_letter_drain = google_pubsub_subscription.alerts_dead_letter_drain.name
  }
}

output "secrets" {
  description = "Secret Manager secret id => environment variable; each needs a version before the first build."
  value       = local.secrets
}

output "docker_repository" {
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
    "_RUNTIME_SA=${google_service_account.runtime.account_id}",
    "_TRIGGER_SA=${google_service_account.trigger.account_id}",
    "_BUILD_SA=${google_service_account.build.account_id}",
    "_ARTIFACT_REPOSITORY=${google_artifact_registry_repository.functions.repository_id}",
    "_VENDORS=${join(",", var.vendors)}",
    "_VENDOR_SECRETS=${join(",", [for id, env in local.vendor_secrets : "${env}=${id}:latest"])}",
  ])
}
