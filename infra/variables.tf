variable "project_id" {
  description = "Google Cloud project that hosts the functions, the Firestore database and everything below."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 lower-case letters, digits or hyphens, starting with a letter)."
  }
}

variable "region" {
  description = "Region of the functions, the Cloud SQL instance, the Scheduler job and the Artifact Registry repository (cloudbuild.yaml _REGION)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Cloud region such as us-central1 or europe-west1 (not a multi-region such as nam5)."
  }
}

variable "firestore_location" {
  description = "Location of the Firestore database holding customers/{customerId}; the Firestore trigger lives there (cloudbuild.yaml _DATABASE_LOCATION)."
  type        = string
  default     = "nam5"

  validation {
    condition     = can(regex("^([a-z]+[0-9]|[a-z]+-[a-z]+[0-9])$", var.firestore_location))
    error_message = "firestore_location must be a Firestore multi-region (nam5, eur3) or a region (us-east1)."
  }
}

variable "firestore_database" {
  description = "Firestore database id whose customers collection is watched (cloudbuild.yaml _FIRESTORE_DATABASE)."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.firestore_database == "(default)" || can(regex("^[a-z][a-z0-9-]{2,62}$", var.firestore_database))
    error_message = "firestore_database must be (default) or a database id of 4-63 lower-case letters, digits or hyphens."
  }
}

variable "create_firestore_database" {
  description = "Create the Firestore database (Native mode) holding customers/{customerId}; set false to use one that exists already (it must be in firestore_location)."
  type        = bool
  default     = true
}

variable "sql_instance_name" {
  description = "Cloud SQL for PostgreSQL instance name (cloudbuild.yaml _INSTANCE)."
  type        = string
  default     = "consent-erasure"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,96}[a-z0-9]$", var.sql_instance_name))
    error_message = "sql_instance_name must be lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "sql_database_version" {
  description = "PostgreSQL major version of the instance."
  type        = string
  default     = "POSTGRES_16"

  validation {
    condition     = contains(["POSTGRES_15", "POSTGRES_16", "POSTGRES_17"], var.sql_database_version)
    error_message = "sql_database_version must be POSTGRES_15, POSTGRES_16 or POSTGRES_17."
  }
}

variable "sql_tier" {
  description = "Machine tier of the Cloud SQL instance. Its max_connections must cover every function instance's pool (DB_POOL_MAX, 5) times the functions' max instances (16)."
  type        = string
  default     = "db-custom-1-3840"

  validation {
    condition     = can(regex("^db-", var.sql_tier))
    error_message = "sql_tier must be a Cloud SQL tier such as db-custom-1-3840."
  }
}

variable "database_name" {
  description = "PostgreSQL database the functions use (cloudbuild.yaml _DB_NAME)."
  type        = string
  default     = "consent_erasure"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case PostgreSQL identifier."
  }
}

variable "deletion_protection" {
  description = "Refuse to destroy the Cloud SQL instance: it holds the evidence of every deletion."
  type        = bool
  default     = true
}

variable "ingest_service_account_id" {
  description = "Account id onCustomerWritten runs as (cloudbuild.yaml _INGEST_SA)."
  type        = string
  default     = "consent-erasure-ingest"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.ingest_service_account_id))
    error_message = "ingest_service_account_id must be 6-30 lower-case letters, digits or hyphens."
  }
}

variable "poller_service_account_id" {
  description = "Account id pollDeletions runs as (cloudbuild.yaml _POLLER_SA)."
  type        = string
  default     = "consent-erasure-poller"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.poller_service_account_id))
    error_message = "poller_service_account_id must be 6-30 lower-case letters, digits or hyphens."
  }
}

variable "mailer_service_account_id" {
  description = "Account id sendAlert runs as (cloudbuild.yaml _MAILER_SA)."
  type        = string
  default     = "consent-erasure-mailer"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.mailer_service_account_id))
    error_message = "mailer_service_account_id must be 6-30 lower-case letters, digits or hyphens."
  }
}

variable "callback_service_account_id" {
  description = "Account id receiveDeletionCallback runs as (cloudbuild.yaml _CALLBACK_SA)."
  type        = string
  default     = "consent-erasure-callback"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.callback_service_account_id))
    error_message = "callback_service_account_id must be 6-30 lower-case letters, digits or hyphens."
  }
}

variable "trigger_service_account_id" {
  description = "Account id Eventarc and the push subscriptions invoke the functions as (cloudbuild.yaml _TRIGGER_SA)."
  type        = string
  default     = "consent-erasure-trigger"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.trigger_service_account_id))
    error_message = "trigger_service_account_id must be 6-30 lower-case letters, digits or hyphens."
  }
}

variable "build_service_account_id" {
  description = "Account id Cloud Build runs as: tests, migrations, deploys and the functions' image builds (cloudbuild.yaml _BUILD_SA)."
  type        = string
  default     = "consent-erasure-build"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.build_service_account_id))
    error_message = "build_service_account_id must be 6-30 lower-case letters, digits or hyphens."
  }
}

variable "artifact_repository_id" {
  description = "Artifact Registry repository for the functions' images (cloudbuild.yaml _ARTIFACT_REPOSITORY)."
  type        = string
  default     = "consent-erasure-functions"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.artifact_repository_id))
    error_message = "artifact_repository_id must be lower-case letters, digits and hyphens."
  }
}

variable "poll_topic" {
  description = "Pub/Sub topic that runs the poller (config POLL_TOPIC; its push subscription delivers to poll-deletions)."
  type        = string
  default     = "deletion-poll"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.poll_topic))
    error_message = "poll_topic must be a Pub/Sub topic id."
  }
}

variable "alert_topic" {
  description = "Pub/Sub topic that carries alerts to the mailer (config ALERT_TOPIC; its push subscription delivers to send-alert)."
  type        = string
  default     = "deletion-alerts"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", var.alert_topic))
    error_message = "alert_topic must be a Pub/Sub topic id."
  }
}

variable "poll_schedule" {
  description = "Cron schedule of the Scheduler job that publishes {} to the poll topic."
  type        = string
  default     = "*/10 * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.poll_schedule))) == 5
    error_message = "poll_schedule must be a five-field cron expression."
  }
}

variable "poll_time_zone" {
  description = "Time zone of the poll schedule (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "vendors" {
  description = "Vendor adapters enabled in production (cloudbuild.yaml _VENDORS); a Secret Manager secret is made for each of their credentials."
  type        = list(string)
  default     = ["http"]

  validation {
    condition     = length(var.vendors) > 0 && alltrue([for v in var.vendors : contains(["http", "segment", "mixpanel", "amplitude", "mparticle", "appsflyer"], v)])
    error_message = "vendors must name at least one of: http, segment, mixpanel, amplitude, mparticle, appsflyer."
  }
}

variable "alert_emails" {
  description = "Email addresses Cloud Monitoring notifies when an alert policy fires (the application's own emails go to ALERT_TO)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "dead_letter_retention" {
  description = "How long a dead-lettered message waits in its drain subscription for a person (at most 31 days)."
  type        = string
  default     = "1209600s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_retention)) && tonumber(trimsuffix(var.dead_letter_retention, "s")) <= 2678400
    error_message = "dead_letter_retention must be a duration in seconds such as 604800s, at most 2678400s."
  }
}

variable "operators_group" {
  description = "Email of the Google group of operators, who may force polls (publish to the poll topic, `consent-erasure poll`)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.operators_group))
    error_message = "operators_group must be the email address of a Google group, such as privacy-ops@example.org."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of a poll or alert message to its function before it goes to its dead-letter topic (5-100)."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "image_retention" {
  description = "Function images older than this are deleted from Artifact Registry, except each function's 10 newest."
  type        = string
  default     = "2592000s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.image_retention)) && tonumber(trimsuffix(var.image_retention, "s")) >= 86400
    error_message = "image_retention must be a duration in seconds of at least a day, such as 2592000s (30 days)."
  }
}

variable "anchor_bucket_suffix" {
  description = "The anchor bucket is named PROJECT_ID-<this> (cloudbuild.yaml _ANCHOR_BUCKET_SUFFIX gives the poller the same name)."
  type        = string
  default     = "consent-erasure-anchors"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$", var.anchor_bucket_suffix))
    error_message = "anchor_bucket_suffix must be 3-32 lower-case letters, digits and dashes."
  }
}

variable "anchor_retention_seconds" {
  description = "How long each chain-head anchor cannot be deleted or replaced (the bucket's retention policy), in seconds; at least the event log's own life."
  type        = number
  default     = 315360000

  validation {
    condition     = var.anchor_retention_seconds >= 31536000 && var.anchor_retention_seconds <= 3155760000
    error_message = "anchor_retention_seconds must be between a year (31536000) and 100 years (3155760000)."
  }
}

variable "anchor_retention_locked" {
  description = "Lock the anchor bucket's retention policy (irreversible: it can then never be shortened or removed)."
  type        = bool
  default     = false
}
