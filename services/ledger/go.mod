module github.com/tokenmeter/tokenmeter/services/ledger

go 1.26.8

require (
	github.com/stretchr/testify v1.12.1
	github.com/tokenmeter/tokenmeter/proto v0.0.0
	google.golang.org/protobuf v1.36.13-0.20261016172727-e9ee2a76ab8e
)

require (
	github.com/google/uuid v1.6.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/grpc v1.85.0 // indirect
)

replace github.com/tokenmeter/tokenmeter/proto => ../../proto

replace github.com/tokenmeter/tokenmeter/libs => ../../libs
