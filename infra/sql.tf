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

# IAM database users: the service account's email without ".gserviceaccount.com".
resource "google_sql_user" "runtime" {
  name     = trimsuffix(google_service_account.runtime.email, ".gserviceaccount.com")
  instance = google_sql_database_instance.main.name
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

resource "google_sql_user" "build" {
  name     = trimsuffix(google_service_account.build.email, ".gserviceaccount.com")
  instance = google_sql_database_instance.main.name
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

locals {
  # New IAM database users have no privileges, and a migration cannot know their names. This SQL, run once as
  # the postgres user (infra/README.md "Database bootstrap"), lets the build's user own the schema and gives the
  # runtime's user the role the migrations grant table rights to.
  database_bootstrap_sql = templatefile("${path.module}/sql/bootstrap.sql.tftpl", {
    database     = google_sql_database.main.name
    build_user   = google_sql_user.build.name
    runtime_user = google_sql_user.runtime.name
    runtime_role = "consent_erasure_runtime"
  })
}
