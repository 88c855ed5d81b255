#[servicekit::microservice]
#[allow(dead_code)]
struct NotesService;
