//! The deployment samples in `config/` stay valid: TOML files load, web.config files are well-formed XML,
//! and the nginx sample passes `nginx -t` inside a minimal main config.

use std::path::{Path, PathBuf};
use std::process::Command;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

#[test]
fn every_toml_sample_loads() {
    let mut seen = 0;
    for entry in std::fs::read_dir(config_dir()).expect("config/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            iogate::config::load_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 2, "expected the example and conformance configs");
}

#[test]
fn web_config_samples_are_well_formed_xml() {
    let files: Vec<PathBuf> = ["iis-arr", "iis-httpplatform", "iis-ancm"]
        .iter()
        .map(|dir| config_dir().join(dir).join("web.config"))
        .collect();
    let check =
        "import sys, xml.dom.minidom\nfor f in sys.argv[1:]:\n    xml.dom.minidom.parse(f)\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(check)
        .args(&files)
        .output()
        .expect("python3 runs (it checks the XML)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn nginx_sample_passes_nginx_t() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx is installed (apt-get install -y nginx; .ci/run does it)");
    let dir = std::env::temp_dir().join(format!("iogate-nginx-t-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("logs")).expect("temp dir");
    let main = format!(
        "pid {dir}/nginx.pid;\nerror_log {dir}/logs/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  \
         client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  \
         uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  include {sample};\n}}\n",
        dir = dir.display(),
        sample = config_dir().join("nginx.conf").display()
    );
    let main_path = dir.join("main.conf");
    std::fs::write(&main_path, main).expect("write main config");
    let output = Command::new(nginx)
        .args(["-t", "-p"])
        .arg(&dir)
        .arg("-c")
        .arg(&main_path)
        .output()
        .expect("nginx -t runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
