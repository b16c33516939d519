# The two commands of the README: `make run` and `make test`.
.PHONY: run test build bench
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
build:
	go build -o bin/hisir ./app
bench:
	bash scripts/bench.sh
