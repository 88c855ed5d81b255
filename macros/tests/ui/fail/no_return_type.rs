#[servicekit::microservice]
async fn app(_ctx: servicekit::Context) {}
