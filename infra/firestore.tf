# The customers database. An empty project has none, and the Firestore trigger cannot be created without it, so
# it is made here by default; set create_firestore_database = false to use an existing one (the application's),
# which Terraform then leaves alone (its location must be var.firestore_location).
resource "google_firestore_database" "customers" {
  count = var.create_firestore_database ? 1 : 0

  name                    = var.firestore_database
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  # terraform destroy leaves the database (and the customers in it); infra/README.md says how to delete it.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.required]
}
