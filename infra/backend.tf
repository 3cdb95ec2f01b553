# Terraform state lives in a Cloud Storage bucket (versioned, made by infra/bootstrap.sh). A backend block
# cannot read variables, so the bucket is given at init as a partial configuration:
#
#   terraform -chdir=infra init -backend-config="bucket=PROJECT-tfstate"
#
# The state holds no credential (secrets.tf makes secrets, never their values), but it names every resource:
# keep the bucket private (bootstrap.sh turns on public access prevention and uniform bucket-level access).
terraform {
  backend "gcs" {
    prefix = "consent-erasure"
  }
}
