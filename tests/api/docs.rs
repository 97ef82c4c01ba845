//! Swagger UI is served from the binary, with nothing fetched from the internet.

use crate::helpers::TestApp;

#[actix_web::test]
async fn docs_redirects_to_the_swagger_ui() {
    let app = TestApp::spawn().await;

    let response = app.get("/docs").await;
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], "/docs/");
}

#[actix_web::test]
async fn every_swagger_ui_asset_is_served_locally() {
    let app = TestApp::spawn().await;

    let index = app.get("/docs/").await;
    assert_eq!(index.status(), 200);
    let html = index.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");

    // Every asset the page loads is relative and served by us.
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|part| part.ends_with(".js") || part.ends_with(".css") || part.ends_with(".png"))
        .map(|part| part.trim_start_matches("./").to_owned())
        .collect();
    assert!(assets.len() >= 4, "{assets:?}");
    for asset in &assets {
        assert!(!asset.contains("://"), "external asset {asset}");
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{asset}");
    }

    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""url": "/openapi.json""#),
        "{initializer}"
    );
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
}

#[actix_web::test]
async fn a_missing_docs_asset_is_a_404_problem() {
    let app = TestApp::spawn().await;

    let body = crate::helpers::problem(app.get("/docs/no-such-file.js").await, 404).await;
    assert_eq!(body["code"], "route_not_found");
}
