# PostgreSQL with IAM database authentication only: no passwords for the functions or the build. The functions
# and the migrations connect through the Cloud SQL connector (TLS with ephemeral client certificates), so the
# public IP has no authorised networks and rejects unencrypted connections.
resource "google_sql_database_instance" "main" {
  name                = var.sql_instance_name
  region              = var.region
  database_version    = var.sql_database_version
  deletion_protection = var.deletion_protection

  settings {
    tier              = var.sql_tier
    edition           = "ENTERPRISE"
    availability_type = "ZONAL"

    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }

    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "ENCRYPTED_ONLY"
    }

    # The database is the evidence of every deletion: daily backups and point-in-time recovery.
    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "03:00"
      transaction_log_retention_days = 7

      backup_retention_settings {
        retained_backups = 30
      }
    }

    insights_config {
      query_insights_enabled = true
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_sql_database" "main" {
  name     = var.database_name
  instance = google_sql_database_instance.main.name
}

# IAM database users: the service account's email without ".gserviceaccount.com". One per function and the build.
resource "google_sql_user" "functions" {
  for_each = local.function_accounts

  name     = trimsuffix(each.value.email, ".gserviceaccount.com")
  instance = google_sql_database_instance.main.name
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

resource "google_sql_user" "build" {
  name     = trimsuffix(google_service_account.build.email, ".gserviceaccount.com")
  instance = google_sql_database_instance.main.name
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

locals {
  # The role that owns the schema (the migrations run as it: cloudbuild.yaml `migrate --role`) and the role the
  # migrations grant table rights to (sql/000005_event_chain.sql).
  database_owner_role   = "consent_erasure_owner"
  database_runtime_role = "consent_erasure_runtime"
  # Executes the retention functions (sql/000015_retention_events.sql); granted to the poller's user only.
  database_retention_role = "consent_erasure_retention"
  # The longest statement a function's session may run (set on the role and on each function's user).
  database_statement_timeout = "60s"
  # receiveDeletionCallback's role (sql/000019_callbacks.sql): read a deletion, append the event, nothing more.
  database_callback_role = "consent_erasure_callback"

  # New IAM database users have no privileges, and a migration cannot know their names. This SQL, run once as
  # the postgres user (infra/README.md step 5), makes both roles, lets the build's user become the owner and
  # gives each function's user the runtime role.
  database_bootstrap_sql = templatefile("${path.module}/sql/bootstrap.sql.tftpl", {
    database          = google_sql_database.main.name
    owner_role        = local.database_owner_role
    runtime_role      = local.database_runtime_role
    retention_role    = local.database_retention_role
    statement_timeout = local.database_statement_timeout
    build_user        = google_sql_user.build.name
    ingest_user       = google_sql_user.functions["ingest"].name
    poller_user       = google_sql_user.functions["poller"].name
    mailer_user       = google_sql_user.functions["mailer"].name
    callback_user     = google_sql_user.functions["callback"].name
    callback_role     = local.database_callback_role
  })
}
