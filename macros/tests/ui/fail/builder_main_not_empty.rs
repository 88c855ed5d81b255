pub fn service() -> servicekit::ServiceBuilder {
    servicekit::Service::builder("notes-service")
}

#[servicekit::microservice(builder = service)]
fn main(_ctx: servicekit::Context) {
    println!("never runs");
}
