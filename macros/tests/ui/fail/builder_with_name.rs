pub fn service() -> servicekit::ServiceBuilder {
    servicekit::Service::builder("notes-service")
}

#[servicekit::microservice(builder = service, name = "notes-service", migrations = "migrations")]
fn main() {}
