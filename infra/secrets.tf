# Credentials live in Secret Manager and reach the functions as environment variables (cloudbuild.yaml
# --set-secrets), each function only its own. Terraform makes the secrets, never their values: add a version with
# `gcloud secrets versions add ID --data-file=-` (infra/README.md step 5), so no credential enters the state.

locals {
  # Secret settings of each vendor adapter (functions/vendors/settings.ts SECRET_SETTINGS, kebab-case). A
  # setting S of vendor V is the secret vendor-V-S and the variable VENDOR_<V>_<S in SCREAMING_SNAKE>.
  vendor_secret_settings = {
    http      = ["api-key"]
    segment   = ["token"]
    mixpanel  = ["token", "project-token"]
    amplitude = ["api-key", "secret-key"]
    mparticle = ["api-key", "api-secret"]
    appsflyer = ["token"]
  }

  vendor_secrets = {
    for pair in flatten([
      for vendor in var.vendors : [
        for setting in local.vendor_secret_settings[vendor] : {
          id  = "vendor-${vendor}-${setting}"
          env = upper(replace("vendor-${vendor}-${setting}", "-", "_"))
        }
      ]
    ]) : pair.id => pair.env
  }

  # Secret id => the environment variable the functions read it as.
  secrets = merge(
    {
      "sendgrid-api-key" = "SENDGRID_API_KEY"
      "retention-key"    = "RETENTION_KEY"
    },
    local.vendor_secrets,
  )

  # Secret id => the function accounts that read it (functions/config.ts FUNCTION_CREDENTIALS): the ingest and
  # the poller call vendors, only the poller pseudonymises, only the mailer sends email.
  secret_readers = merge(
    {
      "sendgrid-api-key" = ["mailer"]
      "retention-key"    = ["poller"]
    },
    { for id, env in local.vendor_secrets : id => ["ingest", "poller"] },
  )

  secret_access = {
    for pair in flatten([
      for id, readers in local.secret_readers : [
        for reader in readers : { key = "${id}/${reader}", secret = id, reader = reader }
      ]
    ]) : pair.key => pair
  }
}

resource "google_secret_manager_secret" "function" {
  for_each = local.secrets

  secret_id = each.key
  labels = {
    app = "consent-erasure"
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.required]
}

resource "google_secret_manager_secret_iam_member" "function_reads" {
  for_each = local.secret_access

  secret_id = google_secret_manager_secret.function[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.function_accounts[each.value.reader].member
}

# The build checks that every secret a function mounts has an enabled version before it migrates or deploys
# anything (cloudbuild.yaml `secret-versions`): metadata only, never a value.
resource "google_secret_manager_secret_iam_member" "build_views" {
  for_each = google_secret_manager_secret.function

  secret_id = each.value.id
  role      = "roles/secretmanager.viewer"
  member    = google_service_account.build.member
}
