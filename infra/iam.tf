# One identity per function, each with only what it does, plus the identity that delivers events and the build:
# - ingest (onCustomerWritten): Cloud SQL, and the vendors' secrets (it submits to vendors taking one subject per
#   call, and cancels at any vendor on a regrant). No SendGrid, publishes nothing.
# - poller (pollDeletions): Cloud SQL, the vendors' secrets, the retention key (it pseudonymises finished
#   requests), and the only account that publishes: continuations to the poll topic, alerts to the alert topic.
# - mailer (sendAlert): Cloud SQL (it reads the alert it is told about) and SendGrid. No vendor secret, no publish.
# - callback (receiveDeletionCallback): the one public function (vendors post signed status callbacks). Cloud SQL
#   as its own database role (read the deletion a callback names, append the event: 000019_callbacks.sql), and
#   publish to the poll topic (the forced poll). No secret: it authenticates callers by their signature.
# - trigger: what Eventarc (Firestore events) and the push subscriptions (Pub/Sub) present to the functions.
#   Invokes the three services, nothing else.
# - build: Cloud Build. Tests, migrates (becoming the schema's owner role), deploys the functions and builds
#   their images.
# Forced polls come from people: var.operators_group may publish to the poll topic (pubsub.tf).

resource "google_service_account" "ingest" {
  account_id   = var.ingest_service_account_id
  display_name = "consent-erasure onCustomerWritten"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "poller" {
  account_id   = var.poller_service_account_id
  display_name = "consent-erasure pollDeletions"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "mailer" {
  account_id   = var.mailer_service_account_id
  display_name = "consent-erasure sendAlert"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "callback" {
  account_id   = var.callback_service_account_id
  display_name = "consent-erasure receiveDeletionCallback"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "trigger" {
  account_id   = var.trigger_service_account_id
  display_name = "consent-erasure event delivery (Eventarc, Pub/Sub push)"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "build" {
  account_id   = var.build_service_account_id
  display_name = "consent-erasure Cloud Build"
  depends_on   = [google_project_service.required]
}

locals {
  # The function accounts by role, and the Cloud Run service each runs (cloudbuild.yaml function names).
  function_accounts = {
    ingest   = google_service_account.ingest
    poller   = google_service_account.poller
    mailer   = google_service_account.mailer
    callback = google_service_account.callback
  }
  function_services = {
    ingest   = "on-customer-written"
    poller   = "poll-deletions"
    mailer   = "send-alert"
    callback = "receive-deletion-callback"
  }

  function_project_roles = [
    "roles/cloudsql.client",       # cloudsql.instances.connect (the connector)
    "roles/cloudsql.instanceUser", # cloudsql.instances.login (IAM database authentication)
  ]

  # Invoking is granted per service by the build once the services exist (cloudbuild.yaml
  # `gcloud functions add-invoker-policy-binding`), never project-wide.
  trigger_project_roles = [
    "roles/eventarc.eventReceiver", # direct Firestore events
  ]

  build_project_roles = [
    "roles/cloudfunctions.developer", # create and update the functions
    "roles/logging.logWriter",        # build logs (CLOUD_LOGGING_ONLY)
    "roles/cloudsql.client",          # migrations through the connector
    "roles/cloudsql.instanceUser",    # ... as its IAM database user
    # Reads the submitted source (gs://PROJECT_cloudbuild) and the functions' uploaded source
    # (gs://gcf-v2-sources-*), both buckets created by the services themselves.
    "roles/storage.objectViewer",
  ]

  function_role_bindings = {
    for pair in setproduct(keys(local.function_accounts), local.function_project_roles) :
    "${pair[0]}/${pair[1]}" => { account = pair[0], role = pair[1] }
  }
}

resource "google_project_iam_member" "functions" {
  for_each = local.function_role_bindings

  project = var.project_id
  role    = each.value.role
  member  = local.function_accounts[each.value.account].member
}

resource "google_project_iam_member" "trigger" {
  for_each = toset(local.trigger_project_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.trigger.member
}

resource "google_project_iam_member" "build" {
  for_each = toset(local.build_project_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}

# The invoker policy of the functions' Cloud Run services: `gcloud functions add-invoker-policy-binding` (the
# trigger account, per service) and `gcloud functions deploy --no-allow-unauthenticated` on an existing function
# (which removes any public binding) read and write it. Nothing else beyond roles/cloudfunctions.developer.
resource "google_project_iam_custom_role" "build_extras" {
  role_id     = "consentErasureBuildExtras"
  title       = "consent-erasure build: the functions' invoker policy"
  description = "Read and set the IAM policy of the functions' Cloud Run services (invoker bindings)."
  permissions = [
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
  ]
}

resource "google_project_iam_member" "build_extras" {
  project = var.project_id
  role    = google_project_iam_custom_role.build_extras.id
  member  = google_service_account.build.member
}

# Deploying a function that runs as, is triggered as, or is built as an account needs actAs on that account.
resource "google_service_account_iam_member" "build_acts_as" {
  for_each = {
    ingest   = google_service_account.ingest.name
    poller   = google_service_account.poller.name
    mailer   = google_service_account.mailer.name
    callback = google_service_account.callback.name
    trigger  = google_service_account.trigger.name
    build    = google_service_account.build.name
  }

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.build.member
}

# --- Google's service agents ------------------------------------------------------------------------------
# Both are created lazily by Google (on first use), so an IAM binding on one in a new project fails with
# "service account ... does not exist"; generating them here first makes the bindings below safe.

resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [google_project_service.required]
}

resource "google_project_service_identity" "eventarc" {
  provider = google-beta

  project    = var.project_id
  service    = "eventarc.googleapis.com"
  depends_on = [google_project_service.required]
}

locals {
  pubsub_service_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# Eventarc manages the Firestore trigger's transport as this agent. It is granted the role on first use too, but
# only after the first event function's deploy has already been refused ("Permission denied while using the
# Eventarc Service Agent"), so grant it here, ahead of the build.
resource "google_project_iam_member" "eventarc_agent" {
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = "serviceAccount:${google_project_service_identity.eventarc.email}"
}

# Pub/Sub signs the push requests (push subscriptions, and Eventarc's own) with the trigger account's identity
# token; needed for projects whose Pub/Sub agent predates April 2021, harmless after.
resource "google_service_account_iam_member" "pubsub_mints_trigger_tokens" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# IAM grants to new service agents take minutes to reach every service. The build that follows this apply
# relies on them (the Firestore trigger's creation), so the apply ends only after they had time to propagate.
resource "time_sleep" "service_agent_grants" {
  create_duration = "180s"

  triggers = {
    eventarc = google_project_iam_member.eventarc_agent.id
    pubsub   = google_service_account_iam_member.pubsub_mints_trigger_tokens.id
  }
}
