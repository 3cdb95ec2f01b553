# Usually the customers database exists already (it is the application's); create it only when asked.
resource "google_firestore_database" "customers" {
  count = var.create_firestore_database ? 1 : 0

  name                    = var.firestore_database
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.required]
}
