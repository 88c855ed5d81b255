pub fn service() -> servicekit::ServiceBuilder {
    servicekit::Service::builder("notes-service")
}

#[servicekit::microservice(builder = service())]
fn main() {}
