# Credentials live in Secret Manager and reach the functions as environment variables (cloudbuild.yaml
# --set-secrets). Terraform makes the secrets, never their values: add a version with
# `gcloud secrets versions add ID --data-file=-` (infra/README.md), so no credential enters the state.

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
  secrets = merge({ "sendgrid-api-key" = "SENDGRID_API_KEY" }, local.vendor_secrets)
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

resource "google_secret_manager_secret_iam_member" "runtime_reads" {
  for_each = google_secret_manager_secret.function

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}
