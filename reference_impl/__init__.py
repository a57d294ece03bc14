"""The reference checkout service: the contract in ../shared/design/contract.md, done carefully."""
