#[test] fn placeholder() { panic!("not written yet") }
