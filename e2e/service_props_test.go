package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// TestQueueTableServiceProperties: Get and Set Service Properties on the
// Queue and Table services with azqueue and aztables (CORS rules and
// metrics survive, sections not sent keep their values), then az storage
// cors across blob, queue and table.
func TestQueueTableServiceProperties(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	qs, err := azqueue.NewServiceClientFromConnectionString(ts.conn, &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	qp, err := qs.GetServiceProperties(cx, nil)
	must(t, err)
	if qp.Logging == nil || qp.HourMetrics == nil || len(qp.CORS) != 0 {
		t.Fatalf("queue defaults: %+v", qp)
	}
	_, err = qs.SetProperties(cx, &azqueue.SetPropertiesOptions{CORS: []*azqueue.CORSRule{{
		AllowedOrigins: to.Ptr("https://app.example"), AllowedMethods: to.Ptr("GET,PUT"), AllowedHeaders: to.Ptr("x-ms-*"),
		ExposedHeaders: to.Ptr("x-ms-request-id"), MaxAgeInSeconds: to.Ptr(int32(60))}}})
	must(t, err)
	_, err = qs.SetProperties(cx, &azqueue.SetPropertiesOptions{HourMetrics: &azqueue.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true),
		IncludeAPIs: to.Ptr(true), RetentionPolicy: &azqueue.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr(int32(7))}}})
	must(t, err)
	qp, err = qs.GetServiceProperties(cx, nil)
	must(t, err)
	if len(qp.CORS) != 1 || *qp.CORS[0].AllowedOrigins != "https://app.example" || !*qp.HourMetrics.Enabled || *qp.HourMetrics.RetentionPolicy.Days != 7 {
		t.Fatalf("queue properties after two sets: %+v %+v", qp.CORS, qp.HourMetrics)
	}

	tsc, err := aztables.NewServiceClientFromConnectionString(ts.conn, &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	must(t, err)
	_, err = tsc.SetProperties(cx, aztables.ServiceProperties{Cors: []*aztables.CorsRule{{
		AllowedOrigins: to.Ptr("https://tables.example"), AllowedMethods: to.Ptr("GET"), AllowedHeaders: to.Ptr("*"),
		ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr(int32(30))}}}, nil)
	must(t, err)
	tp, err := tsc.GetProperties(cx, nil)
	must(t, err)
	if len(tp.Cors) != 1 || *tp.Cors[0].AllowedOrigins != "https://tables.example" || tp.Logging == nil {
		t.Fatalf("table properties: %+v", tp.ServiceProperties)
	}

	azPath := azCLI(t)
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + ts.conn, "AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CONFIG_DIR=" + filepath.Join(t.TempDir(), "azcfg"), "AZURE_CORE_NO_COLOR=true", "AZURE_CORE_ONLY_SHOW_ERRORS=true"}
	az := func(args ...string) string {
		t.Helper()
		return runClient(t, time.Minute, env, azPath, append([]string{"storage"}, args...)...)
	}
	az("cors", "add", "--services", "bqt", "--methods", "GET", "--origins", "https://az.example", "--allowed-headers", "*", "--exposed-headers", "*", "--max-age", "5")
	var rules []struct {
		Service        string
		AllowedOrigins string
	}
	if err := json.Unmarshal([]byte(az("cors", "list", "--services", "bqt", "-o", "json")), &rules); err != nil {
		t.Fatal(err)
	}
	per := map[string][]string{}
	for _, r := range rules {
		per[r.Service] = append(per[r.Service], r.AllowedOrigins)
	}
	if !strings.Contains(strings.Join(per["queue"], ","), "https://az.example") || !strings.Contains(strings.Join(per["table"], ","), "https://az.example") ||
		!strings.Contains(strings.Join(per["blob"], ","), "https://az.example") || len(per["queue"]) != 2 || len(per["table"]) != 2 {
		t.Fatalf("az storage cors list: %+v", per)
	}
	ts.stop()
	if hits := scanForPlaintext(t, ts.dir, []string{"app.example", "tables.example", "az.example"}); len(hits) > 0 {
		t.Fatalf("plaintext on disk: %v", hits)
	}
}

// TestCORS: rules set with the official clients answer a browser's
// preflight (OPTIONS, no credentials) and its actual request, in order,
// first match wins; anything no rule allows is 403 CorsPreflightFailure.
func TestCORS(t *testing.T) {
	ts := startServer(t)
	cx := ctx(t)
	bc := ts.client(t)
	_, err := bc.ServiceClient().SetProperties(cx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{
		{AllowedOrigins: to.Ptr("https://app.example,https://other.example"), AllowedMethods: to.Ptr("GET,PUT"),
			AllowedHeaders: to.Ptr("x-ms-meta-*,x-ms-version,x-ms-blob-type"), ExposedHeaders: to.Ptr("x-ms-request-id,etag"), MaxAgeInSeconds: to.Ptr(int32(120))},
		{AllowedOrigins: to.Ptr("*"), AllowedMethods: to.Ptr("GET"), AllowedHeaders: to.Ptr("*"), ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr(int32(5))},
	}})
	must(t, err)
	_, err = bc.CreateContainer(cx, "corsc", nil)
	must(t, err)
	_, err = bc.UploadBuffer(cx, "corsc", "b", []byte("cors"), nil)
	must(t, err)

	preflight := func(origin, method, headers string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, ts.BlobURL+"/devstoreaccount1/corsc/b", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp
	}
	r := preflight("https://app.example", "PUT", "x-ms-meta-owner,x-ms-version")
	if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		r.Header.Get("Access-Control-Allow-Methods") != "PUT" || r.Header.Get("Access-Control-Max-Age") != "120" ||
		r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight by the first rule: %d %v", r.StatusCode, r.Header)
	}
	if r := preflight("https://app.example", "PUT", "x-custom"); r.StatusCode != 403 || r.Header.Get("x-ms-error-code") != "CorsPreflightFailure" {
		t.Fatalf("a header no rule allows for PUT: %d %s", r.StatusCode, r.Header.Get("x-ms-error-code"))
	}
	if r := preflight("https://evil.example", "GET", ""); r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Max-Age") != "5" {
		t.Fatalf("GET from any origin by the second rule: %d %v", r.StatusCode, r.Header)
	}
	if r := preflight("https://evil.example", "DELETE", ""); r.StatusCode != 403 {
		t.Fatalf("DELETE from an unknown origin: %d", r.StatusCode)
	}

	// the actual request carries the answer too (here with a SAS)
	sasURL, err := bc.ServiceClient().NewContainerClient("corsc").NewBlobClient("b").GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	must(t, err)
	req, _ := http.NewRequest(http.MethodGet, sasURL, nil)
	req.Header.Set("Origin", "https://other.example")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://other.example" || resp.Header.Get("Access-Control-Expose-Headers") != "x-ms-request-id,etag" {
		t.Fatalf("GET with an Origin: %d %v", resp.StatusCode, resp.Header)
	}

	// the Queue service has rules of its own: none yet
	req, _ = http.NewRequest(http.MethodOptions, ts.QueueURL+"/devstoreaccount1/q1/messages", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("queue preflight without rules: %d", resp.StatusCode)
	}
}
