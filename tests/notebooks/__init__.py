"""The teaching notebooks run top to bottom and match the scripts they are built from."""
