# Three identities, each with only what it does:
# - runtime: the functions. Connects to Cloud SQL as an IAM database user, reads its secrets, publishes to the
#   poll topic (continuations, forced polls) and the alert topic.
# - trigger: what Eventarc presents when it pushes an event to a function. Invokes, nothing else.
# - build: Cloud Build. Runs the tests, the migrations (as its own IAM database user), deploys the functions,
#   builds their images, and attaches dead-letter policies to the trigger subscriptions.

resource "google_service_account" "runtime" {
  account_id   = var.runtime_service_account_id
  display_name = "consent-erasure functions (runtime)"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "trigger" {
  account_id   = var.trigger_service_account_id
  display_name = "consent-erasure Eventarc triggers"
  depends_on   = [google_project_service.required]
}

resource "google_service_account" "build" {
  account_id   = var.build_service_account_id
  display_name = "consent-erasure Cloud Build"
  depends_on   = [google_project_service.required]
}

locals {
  pubsub_service_agent = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  runtime_project_roles = [
    "roles/cloudsql.client",       # cloudsql.instances.connect (the connector)
    "roles/cloudsql.instanceUser", # cloudsql.instances.login (IAM database authentication)
  ]

  trigger_project_roles = [
    # The functions' Cloud Run services are created by the deploy, after this apply, so the binding cannot
    # name them; this account is used for nothing but delivering events.
    "roles/run.invoker",
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
}

resource "google_project_iam_member" "runtime" {
  for_each = toset(local.runtime_project_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.runtime.member
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

# What `gcloud functions deploy --no-allow-unauthenticated` (on an existing function) and the dead-letter step
# of cloudbuild.yaml need beyond roles/cloudfunctions.developer, without the whole of run.admin or pubsub.editor.
resource "google_project_iam_custom_role" "build_extras" {
  role_id     = "consentErasureBuildExtras"
  title       = "consent-erasure build: invoker policy and dead-letter wiring"
  description = "Read and set the functions' Cloud Run invoker policy; attach dead-letter policies to Eventarc subscriptions."
  permissions = [
    "run.services.get",
    "run.services.getIamPolicy",
    "run.services.setIamPolicy",
    "eventarc.triggers.get",
    "pubsub.subscriptions.get",
    "pubsub.subscriptions.update",
    "pubsub.topics.get",
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
    runtime = google_service_account.runtime.name
    trigger = google_service_account.trigger.name
    build   = google_service_account.build.name
  }

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.build.member
}

# Pub/Sub signs the push requests to the functions with the trigger account's identity token.
resource "google_service_account_iam_member" "pubsub_mints_trigger_tokens" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.pubsub_service_agent}"
  depends_on         = [google_project_service.required]
}

# Dead-lettering: Pub/Sub acknowledges the message on the source (Eventarc-owned, created at deploy) subscription
# and publishes it to the dead-letter topic (publisher is granted per topic in pubsub.tf).
resource "google_project_iam_member" "pubsub_agent_subscriber" {
  project    = var.project_id
  role       = "roles/pubsub.subscriber"
  member     = "serviceAccount:${local.pubsub_service_agent}"
  depends_on = [google_project_service.required]
}
