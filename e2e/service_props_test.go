package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
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
